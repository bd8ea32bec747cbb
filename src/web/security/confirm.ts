// "Confirm it's you" (sudo mode): a full re-authentication within the last 10 minutes (not sliding),
// or given inline with the request (`current_password`, plus `code` for two-step accounts).
import type { Request, RequestHandler, Response } from 'express';
import { CONFIRMATION_MS, type Accounts } from '../../accounts/index.ts';
import type { Confirmation } from '../../accounts/two-step.ts';
import { clientGone, setRetryAfter, throttledMessage } from '../limits.ts';
import { currentUser, saveSession } from '../middleware.ts';
import { jsonError } from '../respond.ts';

export type Inline = { current_password?: string; code?: string };

/** Whether this session confirmed lately (a full sign-in counts; one finished with a recovery code does not). */
export function recentlyConfirmed(req: Request): boolean {
  return (req.session.confirmedUntil ?? 0) > Date.now();
}

/** Starts this session's 10-minute window; not sliding: ten minutes from now, whatever happens in them. */
export async function markConfirmed(req: Request): Promise<void> {
  req.session.confirmedUntil = Date.now() + CONFIRMATION_MS;
  await saveSession(req);
}

/** Checks an inline confirmation (or a recent one) and, when it passes, starts the 10-minute window. */
export async function confirmIt(req: Request, res: Response, accounts: Accounts, inline: Inline): Promise<Confirmation | { ok: false; reason: 'confirmation_required' }> {
  if (recentlyConfirmed(req)) return { ok: true };
  if (inline.current_password === undefined) return { ok: false, reason: 'confirmation_required' };
  const outcome = await accounts.confirmIdentity(currentUser(res)!.id, { password: inline.current_password, code: inline.code }, clientGone(req, res));
  if (outcome.ok) await markConfirmed(req);
  return outcome;
}

/** The JSON answer to a confirmation that did not pass; field errors name the field to fix. */
export function refuseConfirmation(res: Response, outcome: Exclude<Awaited<ReturnType<typeof confirmIt>>, { ok: true }>): void {
  switch (outcome.reason) {
    case 'confirmation_required':
      return jsonError(res, 401, 'confirmation_required', "Confirm it's you: send current_password (and code, with two-step verification on), or POST /api/auth/confirm first.");
    case 'wrong_password':
      return jsonError(res, 422, 'invalid_input', 'Some fields need attention.', { current_password: 'Your current password is not correct.' });
    case 'code_required':
      return jsonError(res, 422, 'invalid_input', 'Some fields need attention.', { code: 'Enter the 6-digit code from your authenticator app.' });
    case 'invalid_code':
      return jsonError(res, 422, 'invalid_input', 'Some fields need attention.', { code: 'That code is not right.' });
    case 'throttled':
    case 'locked':
      setRetryAfter(res, outcome.retryAfterSeconds);
      return jsonError(res, 429, outcome.reason === 'locked' ? 'second_step_locked' : 'login_throttled', throttledMessage(outcome.retryAfterSeconds));
  }
}

/** What a page shows beside the fields for the same outcome. */
export function confirmationErrors(outcome: Exclude<Awaited<ReturnType<typeof confirmIt>>, { ok: true }>): Record<string, string> {
  switch (outcome.reason) {
    case 'confirmation_required':
    case 'wrong_password':
      return { current_password: 'Your current password is not correct.' };
    case 'code_required':
      return { code: 'Enter the 6-digit code from your authenticator app.' };
    case 'invalid_code':
      return { code: 'That code is not right.' };
    case 'throttled':
    case 'locked':
      return { current_password: throttledMessage(outcome.retryAfterSeconds) };
  }
}

/**
 * In front of a handler that checks `current_password` itself (changing email or password, deleting
 * the account): a two-step account must also give a code, unless this session confirmed in the last
 * 10 minutes. Accounts without two-step pass on, and the handler's password check is the confirmation.
 * `refusePage` shows the form again with the errors; JSON routes get refuseConfirmation's answer.
 */
export function secondStepToo(accounts: Accounts, refusePage?: (req: Request, res: Response, errors: Record<string, string>, status: number) => Promise<void>): RequestHandler {
  return async (req, res, next) => {
    if (recentlyConfirmed(req) || !(await accounts.twoStepStatus(currentUser(res)!.id)).on) return next();
    const body = (req.body ?? {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const outcome = await confirmIt(req, res, accounts, { current_password: text(body.current_password), code: text(body.code) });
    if (outcome.ok) return next();
    if (!refusePage) return refuseConfirmation(res, outcome);
    const limited = outcome.reason === 'throttled' || outcome.reason === 'locked';
    if (limited) setRetryAfter(res, outcome.retryAfterSeconds);
    await refusePage(req, res, confirmationErrors(outcome), limited ? 429 : 422);
  };
}
