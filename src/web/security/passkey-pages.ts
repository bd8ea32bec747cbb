// The passkeys card of /account/security: the account's passkeys (name, added, last used), renaming and
// removing them with plain forms, and "Add a passkey" (a WebAuthn ceremony, so JavaScript: public/js/passkeys.js).
import type { Request, RequestHandler, Response } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import { parse } from '../forms.ts';
import { clientOfRequest, currentUser } from '../middleware.ts';
import { redirect, show } from '../respond.ts';
import { confirmationErrors, confirmIt, recentlyConfirmed } from './confirm.ts';
import { PasskeyConfirmation, RenamePasskeyForm } from './passkey-forms.ts';

const view = { page: 'account-security', title: 'Security' };
const NOTICES: Record<string, string> = {
  passkey_added: 'Passkey added. You can sign in with it now.',
  passkey_removed: 'Passkey removed. It no longer signs in.',
  passkey_renamed: 'Passkey renamed.',
  confirmed: "Confirmed: for the next 10 minutes you won't be asked for your password here.",
};

export function passkeyPages({ accounts }: { accounts: Accounts }) {
  /** What the card shows; `errors` name the passkey (`passkey`) and the confirmation fields to fix. */
  async function showCard(req: Request, res: Response, extra: { status?: number; errors?: Record<string, string>; failedId?: number } = {}) {
    const userId = currentUser(res)!.id;
    const [passkeys, twoStep, accepted] = await Promise.all([
      accounts.listPasskeys(userId), accounts.twoStepStatus(userId), accounts.acceptedPasskeys(userId),
    ]);
    const notice = typeof req.query.notice === 'string' ? NOTICES[req.query.notice] : undefined;
    show(req, res, { ...view, status: extra.status }, {
      passkeys, notice, errors: extra.errors, failedId: extra.failedId,
      confirmed: recentlyConfirmed(req), twoStepOn: twoStep.on,
      // For PublicKeyCredential.signalAllAcceptedCredentials: the browser may forget passkeys removed here.
      signals: accepted && { rpId: accepted.rpId, userId: accepted.userHandle, credentialIds: accepted.credentialIds.join(',') },
    });
  }

  const showSecurity: RequestHandler = (req, res) => showCard(req, res);

  const remove: RequestHandler = async (req, res) => {
    const id = Number(req.params.id);
    const input = parse(PasskeyConfirmation, req.body);
    if (!input.ok) return showCard(req, res, { status: 422, errors: input.fields, failedId: id });
    const confirmed = await confirmIt(req, res, accounts, input.data);
    if (!confirmed.ok) return showCard(req, res, { status: 422, errors: confirmationErrors(confirmed), failedId: id });
    if (!Number.isSafeInteger(id) || !(await accounts.removePasskey(currentUser(res)!.id, id, clientOfRequest(req)))) {
      return showCard(req, res, { status: 404, errors: { passkey: 'You have no such passkey (it may have been removed already).' } });
    }
    redirect(req, res, '/account/security?notice=passkey_removed');
  };

  const rename: RequestHandler = async (req, res) => {
    const id = Number(req.params.id);
    const input = parse(RenamePasskeyForm, req.body);
    if (!input.ok) return showCard(req, res, { status: 422, errors: input.fields, failedId: id });
    if (!Number.isSafeInteger(id) || !(await accounts.renamePasskey(currentUser(res)!.id, id, input.data.name))) {
      return showCard(req, res, { status: 404, errors: { passkey: 'You have no such passkey (it may have been removed).' } });
    }
    redirect(req, res, '/account/security?notice=passkey_renamed');
  };

  return { showSecurity, remove, rename };
}
