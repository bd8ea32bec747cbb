// The browser pages: each handler parses the form, makes one domain call, and picks a template.
import type { Request, RequestHandler, Response } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import type { AfterAnswer } from '../after-answer.ts';
import { ChangePasswordForm, ForgotForm, LoginForm, localPath, parse } from '../forms.ts';
import { clientGone, setRetryAfter, throttledMessage } from '../limits.ts';
import { clientOfRequest, continueSession, currentUser, logOutSession } from '../middleware.ts';
import { pageAfterSignIn } from '../security/sign-in.ts';
import { resetProofOf } from '../security/forms.ts';
import { ResetPageForm } from '../security/passkey-forms.ts';
import { ACCOUNT_NOTICES, ACCOUNT_VIEW, lookUp, showAccount } from './view.ts';
import { FORGOT_MESSAGE, PASSWORD_CHANGED_MEANWHILE } from './messages.ts';
import { redirect, show } from '../respond.ts';
import type { TokenLinks } from '../token-links.ts';


const NOTICES: Record<string, string> = {
  password_reset: 'Your password has been reset. Log in with your new password.',
  password_changed_meanwhile: PASSWORD_CHANGED_MEANWHILE,
  second_step_expired: 'That sign-in expired or used up its tries. Log in again to get a new one.',
  account_secured:
    'Your account is secured: every device has been signed out, and a link to choose a new password is on its way to your inbox.',
};

export function pages(deps: { accounts: Accounts; later: AfterAnswer; resetLinks: TokenLinks }) {
  const { accounts, later, resetLinks } = deps;

  const loginView = { page: 'login', fragment: 'login-form', title: 'Log in' };
  const showLogin: RequestHandler = (req, res) => {
    if (currentUser(res)) return res.redirect(303, '/account');
    const next = localPath(stringOrUndefined(req.query.next));
    const notice = lookUp(NOTICES, req.query.notice) ?? lookUp(ON_THE_WAY_TO, next);
    show(req, res, loginView, { notice, values: { next } });
  };
  const login: RequestHandler = async (req, res) => {
    const input = parse(LoginForm, req.body);
    if (!input.ok) return show(req, res, { ...loginView, status: 422 }, { errors: input.fields, values: req.body });
    const outcome = await accounts.logIn({ ...input.data, client: clientOfRequest(req) }, clientGone(req, res));
    if (!outcome.ok) {
      const values = { email: input.data.email, next: input.data.next };
      switch (outcome.reason) {
        case 'throttled':
          setRetryAfter(res, outcome.retryAfterSeconds);
          return show(req, res, { ...loginView, status: 429 }, { throttled: throttledMessage(outcome.retryAfterSeconds), values });
        case 'invalid_credentials':
          // The failure was recorded (the same for every email); its job looks the account up.
          later.wakeJobs(res);
          return show(req, res, { ...loginView, status: 401 }, { failed: true, values });
      }
    }
    const next = localPath(input.data.next);
    redirect(req, res, await pageAfterSignIn(req, outcome.step, next));
  };

  const logout: RequestHandler = async (req, res) => {
    await logOutSession(req, res);
    redirect(req, res, '/');
  };

  const account: RequestHandler = (req, res) => showAccount(req, res, accounts, ACCOUNT_VIEW, { notice: lookUp(ACCOUNT_NOTICES, req.query.notice) });
  const changePassword: RequestHandler = async (req, res) => {
    const user = currentUser(res)!;
    const input = parse(ChangePasswordForm, req.body);
    if (!input.ok) return showAccount(req, res, accounts, { ...ACCOUNT_VIEW, status: 422 }, { errors: input.fields });
    const outcome = await accounts.changePassword(
      user.id,
      { currentPassword: input.data.current_password, newPassword: input.data.new_password },
      clientGone(req, res),
      clientOfRequest(req),
    );
    if (!outcome.ok) {
      switch (outcome.reason) {
        case 'throttled':
          setRetryAfter(res, outcome.retryAfterSeconds);
          return showAccount(req, res, accounts, { ...ACCOUNT_VIEW, status: 429 }, { errors: { current_password: throttledMessage(outcome.retryAfterSeconds) } });
        case 'changed_meanwhile':
          // A reset (or another change) won; it ended this session too, so this browser logs in anew.
          await logOutSession(req, res);
          return redirect(req, res, '/login?notice=password_changed_meanwhile');
        case 'wrong_password':
        case 'invalid':
          return showAccount(req, res, accounts, { ...ACCOUNT_VIEW, status: 422 }, { errors: outcome.fields });
      }
    }
    // Every session ended with the change; this browser continues under a fresh id.
    await continueSession(req, outcome.user);
    await showAccount(req, res, accounts, ACCOUNT_VIEW, { changed: true });
  };

  const forgotView = { page: 'forgot-password', fragment: 'forgot-form', title: 'Forgot your password?' };
  const showForgot: RequestHandler = (req, res) => show(req, res, forgotView);
  const forgot: RequestHandler = async (req, res) => {
    const input = parse(ForgotForm, req.body);
    if (!input.ok) return show(req, res, { ...forgotView, status: 422 }, { errors: input.fields, values: req.body });
    // Recorded before the 202 (a crash after it loses nothing); the account is looked up only once the
    // answer is out, so nothing about the account can shape it.
    await accounts.recordResetRequest(input.data.email, clientOfRequest(req));
    later.wakeJobs(res);
    show(req, res, { ...forgotView, status: 202 }, { sent: FORGOT_MESSAGE });
  };

  const resetView = { page: 'reset-password', fragment: 'reset-form', title: 'Choose a new password' };
  const invalidLinkView = { page: 'reset-invalid', fragment: 'reset-invalid', title: 'This link does not work', status: 400 };
  const showReset: RequestHandler = async (req, res) => {
    const status = await accounts.resetLinkStatus(resetLinks.recall(req));
    if (status === 'invalid') {
      resetLinks.forget(res);
      return show(req, res, invalidLinkView);
    }
    // Two-step accounts: the page asks for the second factor with the new password.
    show(req, res, resetView, { secondStep: status === 'needs_second_step' });
  };
  const reset: RequestHandler = async (req, res) => {
    const input = parse(ResetPageForm, req.body);
    const secondStep = req.body?.code !== undefined || req.body?.passkey !== undefined;
    if (!input.ok) return show(req, res, { ...resetView, status: 422 }, { errors: input.fields, secondStep });
    const proof = resetProofOf(input.data, req.session.passkeyChallenges?.reset);
    const outcome = await accounts.resetPassword(input.data.token ?? resetLinks.recall(req), input.data.new_password, proof, clientOfRequest(req));
    if (!outcome.ok) {
      switch (outcome.reason) {
        case 'invalid':
          return show(req, res, { ...resetView, status: 422 }, { errors: outcome.fields, secondStep });
        case 'second_step_required':
        case 'invalid_code':
          return show(req, res, { ...resetView, status: 401 }, { errors: { code: outcome.reason === 'invalid_code' ? 'That code is not right.' : 'Enter the code from your authenticator app.' }, secondStep: true });
        case 'passkey_challenge_expired':
        case 'invalid_passkey':
          return show(req, res, { ...resetView, status: 401 }, { errors: { code: 'That passkey did not work. Try it again, or enter a code.' }, secondStep: true });
        case 'locked':
          setRetryAfter(res, outcome.retryAfterSeconds);
          return show(req, res, { ...resetView, status: 429 }, { errors: { code: throttledMessage(outcome.retryAfterSeconds) }, secondStep: true });
        case 'invalid_token':
          break;
      }
    }
    resetLinks.forget(res);
    if (!outcome.ok) return show(req, res, invalidLinkView);
    // No automatic login: whoever holds a leaked link still has to know the new password.
    redirect(req, res, '/login?notice=password_reset');
  };

  return { showLogin, login, logout, account, changePassword, showForgot, forgot, showReset, reset };
}


/** What a login page says when it stands between a visitor and a page that needs one. */
const ON_THE_WAY_TO: Record<string, string> = {
  // The link was opened from the new inbox, so the new address is the one people type: it does not work yet.
  '/account/email/confirm': 'Log in with your current email address to confirm the new one.',
};

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
