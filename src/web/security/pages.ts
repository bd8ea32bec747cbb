// /account/security: two-step verification from the account's side (turn on with a QR code and a
// confirming code, recovery codes shown once, new codes, turn off). Full pages without JavaScript;
// with htmx each form swaps the two-step card only. The passkeys card beside it is passkey-pages.ts's.
import type { Request, RequestHandler, Response } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import { FEW_RECOVERY_CODES } from '../../accounts/recovery-codes.ts';
import { parse } from '../forms.ts';
import { setRetryAfter } from '../limits.ts';
import { clientOfRequest, currentUser } from '../middleware.ts';
import { show } from '../respond.ts';
import { confirmationErrors, confirmIt, recentlyConfirmed } from './confirm.ts';
import { CodeForm, InlineConfirmation } from './forms.ts';
import { passkeyCard } from './passkey-pages.ts';
import { groupedKey, qrSvg } from './qr.ts';

const view = { page: 'security', fragment: 'two-step-card', title: 'Sign-in and security' };
const WRONG_CODE = 'That code is not right. Check the time on your phone, and enter the newest code.';

export function securityPages({ accounts }: { accounts: Accounts }) {
  /** The page (or, for htmx, the two-step card) as it stands now, with what just happened. */
  async function render(req: Request, res: Response, context: object = {}, status = 200): Promise<void> {
    const [twoStep, passkeys] = await Promise.all([accounts.twoStepStatus(currentUser(res)!.id), passkeyCard(accounts, req, res)]);
    res.set('Cache-Control', 'no-store');
    show(req, res, { ...view, status }, { twoStep, confirmed: recentlyConfirmed(req), fewLeft: FEW_RECOVERY_CODES, ...passkeys, ...context });
  }

  /** Confirm it's you, inline or recent; on failure the card says which field to fix (and answers). */
  async function confirmed(req: Request, res: Response, form: string): Promise<boolean> {
    const input = parse(InlineConfirmation, req.body);
    if (!input.ok) {
      await render(req, res, { errors: input.fields, form }, 422);
      return false;
    }
    const outcome = await confirmIt(req, res, accounts, input.data);
    if (outcome.ok) return true;
    const limited = outcome.reason === 'throttled' || outcome.reason === 'locked';
    if (limited) setRetryAfter(res, outcome.retryAfterSeconds);
    await render(req, res, { errors: confirmationErrors(outcome), form }, limited ? 429 : 422);
    return false;
  }

  const showSecurity: RequestHandler = (req, res) => render(req, res);

  const startSetup: RequestHandler = async (req, res) => {
    if (!(await confirmed(req, res, 'setup'))) return;
    const setup = await accounts.startTwoStep(currentUser(res)!.id);
    if (!setup.ok) return render(req, res, { notice: 'Two-step verification is already on.' }, 409);
    // Shown this once: the key is not kept anywhere the page could show it again.
    await render(req, res, { setup: { qr: await qrSvg(setup.otpauthUri), key: groupedKey(setup.secret) } });
  };

  const turnOn: RequestHandler = async (req, res) => {
    const input = parse(CodeForm, req.body);
    if (!input.ok) return render(req, res, { setup: { retry: true }, errors: input.fields }, 422);
    const outcome = await accounts.enableTwoStep(currentUser(res)!.id, input.data.code, req.session.publicId, clientOfRequest(req));
    if (outcome.ok) return render(req, res, { codes: outcome.recoveryCodes, justEnabled: true });
    if (outcome.reason === 'not_started') return render(req, res, { failed: 'Start the setup again: it was finished or replaced elsewhere.' }, 409);
    await render(req, res, { setup: { retry: true }, errors: { code: WRONG_CODE } }, 422);
  };

  const turnOff: RequestHandler = async (req, res) => {
    if (!(await confirmed(req, res, 'off'))) return;
    await accounts.disableTwoStep(currentUser(res)!.id, clientOfRequest(req));
    await render(req, res, { notice: 'Two-step verification is off. Your password alone now signs in.' });
  };

  const newRecoveryCodes: RequestHandler = async (req, res) => {
    if (!(await confirmed(req, res, 'codes'))) return;
    const codes = await accounts.renewRecoveryCodes(currentUser(res)!.id, clientOfRequest(req));
    if (!codes) return render(req, res, { failed: 'Recovery codes come with two-step verification; it is off.' }, 409);
    await render(req, res, { codes });
  };

  return { render, showSecurity, startSetup, turnOn, turnOff, newRecoveryCodes };
}
