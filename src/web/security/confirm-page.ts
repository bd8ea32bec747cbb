// GET/POST /account/confirm?next=: "confirm it's you" as a page of its own (the password, plus a code
// for two-step accounts, or one of the account's passkeys: public/js/passkeys.js), for forms that do
// not ask inline. Then back to `next` (local paths only).
import type { RequestHandler } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import { localPath, parse } from '../forms.ts';
import { clientGone, setRetryAfter } from '../limits.ts';
import { currentUser } from '../middleware.ts';
import { redirect, show } from '../respond.ts';
import { confirmationErrors, markConfirmed } from './confirm.ts';
import { ConfirmPageForm } from './forms.ts';

const view = { page: 'confirm-identity', fragment: 'confirm-identity-form', title: "Confirm it's you" };

export function confirmPage({ accounts }: { accounts: Accounts }) {
  const showConfirm: RequestHandler = async (req, res) => {
    const next = localPath(typeof req.query.next === 'string' ? req.query.next : undefined);
    const userId = currentUser(res)!.id;
    const [twoStep, passkeys] = await Promise.all([accounts.twoStepStatus(userId), accounts.listPasskeys(userId)]);
    show(req, res, view, { twoStep, hasPasskeys: passkeys.length > 0, values: { next } });
  };

  const confirm: RequestHandler = async (req, res) => {
    const next = localPath(typeof req.body?.next === 'string' ? req.body.next : undefined);
    const twoStep = await accounts.twoStepStatus(currentUser(res)!.id);
    const input = parse(ConfirmPageForm, req.body);
    if (!input.ok) return show(req, res, { ...view, status: 422 }, { twoStep, errors: input.fields, values: { next } });
    const outcome = await accounts.confirmIdentity(currentUser(res)!.id, { password: input.data.password, code: input.data.code }, clientGone(req, res));
    if (!outcome.ok) {
      const limited = outcome.reason === 'throttled' || outcome.reason === 'locked';
      if (limited) setRetryAfter(res, outcome.retryAfterSeconds);
      const { current_password: password, ...rest } = confirmationErrors(outcome);
      const errors = password === undefined ? rest : { ...rest, password };
      return show(req, res, { ...view, status: limited ? 429 : 422 }, { twoStep, errors, values: { next } });
    }
    await markConfirmed(req);
    redirect(req, res, next ?? '/account/security');
  };

  return { showConfirm, confirm };
}
