// Two-step verification from the account's side, in JSON: set up, turn on, turn off, new recovery
// codes, and "confirm it's you". Each change needs a recent confirmation or one inline.
import type { RequestHandler } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import { parse } from '../forms.ts';
import { clientGone, setRetryAfter, throttledMessage } from '../limits.ts';
import { clientOfRequest, currentUser } from '../middleware.ts';
import { invalidInput, jsonError } from '../respond.ts';
import { confirmIt, markConfirmed, refuseConfirmation } from './confirm.ts';
import { CodeForm, ConfirmForm, InlineConfirmation } from './forms.ts';

export function twoStepApi({ accounts }: { accounts: Accounts }) {
  const setUp: RequestHandler = async (req, res) => {
    const input = parse(InlineConfirmation, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const confirmed = await confirmIt(req, res, accounts, input.data);
    if (!confirmed.ok) return refuseConfirmation(res, confirmed);
    const setup = await accounts.startTwoStep(currentUser(res)!.id);
    if (!setup.ok) return jsonError(res, 409, 'two_step_on', 'Two-step verification is already on. Turn it off first to use another app.');
    // The secret is shown this once, while two-step is pending; no later answer shows it again.
    res.json({ secret: setup.secret, otpauth_uri: setup.otpauthUri });
  };

  const turnOn: RequestHandler = async (req, res) => {
    const input = parse(CodeForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.enableTwoStep(currentUser(res)!.id, input.data.code, req.session.publicId, clientOfRequest(req));
    if (!outcome.ok) {
      return outcome.reason === 'not_started'
        ? jsonError(res, 409, 'two_step_not_started', 'Start the setup first (POST /api/users/me/two-step).')
        : invalidInput(res, { code: 'That code is not right. Check the time on your phone, and enter the newest code.' });
    }
    res.json({ recovery_codes: outcome.recoveryCodes });
  };

  const turnOff: RequestHandler = async (req, res) => {
    const input = parse(InlineConfirmation, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const confirmed = await confirmIt(req, res, accounts, input.data);
    if (!confirmed.ok) return refuseConfirmation(res, confirmed);
    await accounts.disableTwoStep(currentUser(res)!.id, clientOfRequest(req));
    res.status(204).end();
  };

  const newRecoveryCodes: RequestHandler = async (req, res) => {
    const input = parse(InlineConfirmation, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const confirmed = await confirmIt(req, res, accounts, input.data);
    if (!confirmed.ok) return refuseConfirmation(res, confirmed);
    const codes = await accounts.renewRecoveryCodes(currentUser(res)!.id, clientOfRequest(req));
    if (!codes) return jsonError(res, 409, 'two_step_off', 'Recovery codes come with two-step verification; it is off.');
    res.json({ recovery_codes: codes });
  };

  const confirm: RequestHandler = async (req, res) => {
    const input = parse(ConfirmForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.confirmIdentity(currentUser(res)!.id, { password: input.data.password, code: input.data.code }, clientGone(req, res));
    if (!outcome.ok) {
      if (outcome.reason === 'throttled' || outcome.reason === 'locked') {
        setRetryAfter(res, outcome.retryAfterSeconds);
        return jsonError(res, 429, outcome.reason === 'locked' ? 'second_step_locked' : 'login_throttled', throttledMessage(outcome.retryAfterSeconds));
      }
      if (outcome.reason === 'wrong_password') return invalidInput(res, { password: 'Your password is not correct.' });
      return refuseConfirmation(res, outcome);
    }
    await markConfirmed(req);
    res.status(204).end();
  };

  return { setUp, turnOn, turnOff, newRecoveryCodes, confirm };
}
