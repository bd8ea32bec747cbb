// "I can't use my authenticator" (no recovery codes left, password correct): an emailed link starts a
// removal of two-step verification that finishes after 72 hours unless the owner signs in meanwhile.
import type { RequestHandler } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import { clientOfRequest } from '../middleware.ts';
import { redirect, show } from '../respond.ts';
import type { TokenLinks } from '../token-links.ts';
import { TokenForm, parse } from '../forms.ts';

const INVALID = 'This link is invalid, has expired, or was already used. Log in again to ask for a new one.';

export function lostFactorPages({ accounts, removalLinks }: { accounts: Accounts; removalLinks: TokenLinks }) {
  const requestRemoval: RequestHandler = async (req, res) => {
    const outcome = await accounts.requestTwoStepRemoval(req.session.pendingSignIn);
    if (!outcome.ok) {
      // With a recovery code left, that code is the way in; with no pending sign-in, the password first.
      return redirect(req, res, outcome.reason === 'codes_left' ? '/login/two-step' : '/login?notice=second_step_expired');
    }
    show(req, res, { page: 'two-step-lost', status: 202, title: 'Check your email' });
  };

  const showRemoval: RequestHandler = async (req, res) => {
    if (!(await accounts.checkRemovalToken(removalLinks.recall(req)))) {
      removalLinks.forget(res);
      return show(req, res, { page: 'link-invalid', status: 400, title: 'This link does not work' }, { message_text: INVALID, action: { href: '/login', label: 'Log in' } });
    }
    show(req, res, { page: 'two-step-remove', title: 'Remove two-step verification?' });
  };

  const startRemoval: RequestHandler = async (req, res) => {
    const input = parse(TokenForm, req.body);
    const token = (input.ok && input.data.token) || removalLinks.recall(req);
    const outcome = await accounts.startTwoStepRemoval(token, clientOfRequest(req));
    removalLinks.forget(res);
    if (!outcome.ok) {
      return show(req, res, { page: 'link-invalid', status: 400, title: 'This link does not work' }, { message_text: INVALID, action: { href: '/login', label: 'Log in' } });
    }
    show(req, res, { page: 'two-step-remove', title: 'Two-step verification will be removed' }, { dueAt: outcome.dueAt });
  };

  return { requestRemoval, showRemoval, startRemoval };
}
