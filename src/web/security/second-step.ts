// The second step of a sign-in: /login/two-step (a page) and POST /api/auth/second-step (JSON). The
// session holds only the pending sign-in's id until the pipeline says the sign-in is complete.
import type { Request, RequestHandler, Response } from 'express';
import type { Accounts, SecondStepOutcome } from '../../accounts/index.ts';
import { localPath, parse } from '../forms.ts';
import { setRetryAfter, throttledMessage } from '../limits.ts';
import { clientOfRequest, regenerateSession, saveSession } from '../middleware.ts';
import { jsonError, invalidInput, redirect, show } from '../respond.ts';
import { publicProfile } from '../accounts/api.ts';
import { proofOf, SecondStepForm } from './forms.ts';
import { finishSignIn } from './sign-in.ts';

const view = { page: 'login-two-step', fragment: 'two-step-form', title: 'Two-step verification' };
const WRONG = 'That code is not right.';
const LOCKED = (seconds: number) => `Too many wrong codes for this account. ${throttledMessage(seconds)}`;

export function secondStepPages({ accounts }: { accounts: Accounts }) {
  /** The pending sign-in of this session, if it is still in force. */
  const pendingOf = async (req: Request) => {
    const id = req.session.pendingSignIn;
    return id === undefined ? null : accounts.pendingSignIn(id);
  };

  /** No recovery codes left: the page offers "I can't use my authenticator" (the lost-factor removal). */
  const lostFactor = async (userId: number) => (await accounts.twoStepStatus(userId)).recoveryCodesLeft === 0;

  /** The pending sign-in is gone (expired, used up): the session forgets it, and the person starts over. */
  async function forgetPending(req: Request): Promise<void> {
    await regenerateSession(req);
    await saveSession(req);
  }

  const showSecondStep: RequestHandler = async (req, res) => {
    const pending = await pendingOf(req);
    const next = localPath(typeof req.query.next === 'string' ? req.query.next : undefined);
    if (!pending) return redirect(req, res, next ? `/login?next=${encodeURIComponent(next)}` : '/login');
    show(req, res, view, { methods: pending.methods, lostFactor: await lostFactor(pending.userId), values: { next } });
  };

  /** Both answers share this: the outcome, mapped for a page or for JSON by `answer`. */
  async function complete(req: Request, res: Response, input: { code?: string; recovery_code?: string }): Promise<SecondStepOutcome> {
    const id = req.session.pendingSignIn;
    if (id === undefined) return { ok: false, reason: 'expired' };
    const outcome = await accounts.completeSecondStep(id, proofOf(input), clientOfRequest(req));
    if (outcome.ok) await finishSignIn(req, outcome.signedIn);
    else if (outcome.reason === 'expired' || (outcome.reason === 'invalid_code' && outcome.triesLeft === 0)) await forgetPending(req);
    return outcome;
  }

  const secondStep: RequestHandler = async (req, res) => {
    const input = parse(SecondStepForm, req.body);
    const next = localPath(typeof req.body?.next === 'string' ? req.body.next : undefined);
    // As offered before the try (a passkey too, for accounts that have one).
    const methods = (await pendingOf(req))?.methods ?? ['totp', 'recovery_code'];
    if (!input.ok) return show(req, res, { ...view, status: 422 }, { errors: input.fields, methods, values: { next } });
    const outcome = await complete(req, res, input.data);
    if (outcome.ok) {
      const left = outcome.recoveryCodesLeft;
      return redirect(req, res, left === undefined ? (next ?? '/account') : `/account?notice=recovery_code_used&left=${left}`);
    }
    switch (outcome.reason) {
      case 'locked':
        setRetryAfter(res, outcome.retryAfterSeconds);
        return show(req, res, { ...view, status: 429 }, { failed: LOCKED(outcome.retryAfterSeconds), methods, values: { next } });
      case 'invalid_code':
        if (outcome.triesLeft > 0) {
          const failed = `${WRONG} ${outcome.triesLeft} ${outcome.triesLeft === 1 ? 'try' : 'tries'} left.`;
          return show(req, res, { ...view, status: 401 }, { failed, methods, lostFactor: await lostFactor(outcome.userId), values: { next } });
        }
        return redirect(req, res, '/login?notice=second_step_expired');
      case 'expired':
        return redirect(req, res, '/login?notice=second_step_expired');
    }
  };

  const secondStepJson: RequestHandler = async (req, res) => {
    const input = parse(SecondStepForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await complete(req, res, input.data);
    if (outcome.ok) {
      return res.json({ user: publicProfile((await accounts.findUser(outcome.signedIn.user.id))!) });
    }
    switch (outcome.reason) {
      case 'locked':
        setRetryAfter(res, outcome.retryAfterSeconds);
        return jsonError(res, 429, 'second_step_locked', LOCKED(outcome.retryAfterSeconds));
      case 'invalid_code':
        return jsonError(res, 401, 'invalid_code', outcome.triesLeft > 0 ? WRONG : `${WRONG} Log in again.`);
      case 'expired':
        return jsonError(res, 401, 'no_pending_sign_in', 'There is no sign-in waiting for a code (it expired or used its tries). Log in again.');
    }
  };

  return { showSecondStep, secondStep, secondStepJson };
}
