// The passkeys card of /account/security (the page is pages.ts): the account's passkeys (name, added,
// last used), renaming and removing them with plain forms, and "Add a passkey" (a WebAuthn ceremony, so
// JavaScript: public/js/passkeys.js).
import type { Request, RequestHandler, Response } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import { parse } from '../forms.ts';
import { clientOfRequest, currentUser } from '../middleware.ts';
import { redirect } from '../respond.ts';
import { confirmationErrors, confirmIt } from './confirm.ts';
import { PasskeyConfirmation, RenamePasskeyForm } from './passkey-forms.ts';

const NOTICES: Record<string, string> = {
  passkey_added: 'Passkey added. You can sign in with it now.',
  passkey_removed: 'Passkey removed. It no longer signs in.',
  passkey_renamed: 'Passkey renamed.',
  confirmed: "Confirmed: for the next 10 minutes you won't be asked for your password here.",
};

/** What the security page needs for the passkeys card (and the notice a passkey action came back with). */
export async function passkeyCard(accounts: Accounts, req: Request, res: Response) {
  const userId = currentUser(res)!.id;
  const [passkeys, accepted] = await Promise.all([accounts.listPasskeys(userId), accounts.acceptedPasskeys(userId)]);
  return {
    passkeys,
    pageNotice: typeof req.query.notice === 'string' ? NOTICES[req.query.notice] : undefined,
    // For PublicKeyCredential.signalAllAcceptedCredentials: the browser may forget passkeys removed here.
    signals: accepted && { rpId: accepted.rpId, userId: accepted.userHandle, credentialIds: accepted.credentialIds.join(',') },
  };
}

/** The security page as it stands, with `context` on top (pages.ts's render). */
type Render = (req: Request, res: Response, context?: object, status?: number) => Promise<void>;

export function passkeyPages({ accounts, render }: { accounts: Accounts; render: Render }) {
  /** The page again; `passkeyErrors` name the passkey (`passkey`) and the confirmation fields to fix. */
  const again = (req: Request, res: Response, status: number, passkeyErrors: Record<string, string>, failedId?: number) =>
    render(req, res, { passkeyErrors, failedId }, status);

  const remove: RequestHandler = async (req, res) => {
    const id = Number(req.params.id);
    const input = parse(PasskeyConfirmation, req.body);
    if (!input.ok) return again(req, res, 422, input.fields, id);
    const confirmed = await confirmIt(req, res, accounts, input.data);
    if (!confirmed.ok) return again(req, res, 422, confirmationErrors(confirmed), id);
    if (!Number.isSafeInteger(id) || !(await accounts.removePasskey(currentUser(res)!.id, id, clientOfRequest(req)))) {
      return again(req, res, 404, { passkey: 'You have no such passkey (it may have been removed already).' });
    }
    redirect(req, res, '/account/security?notice=passkey_removed');
  };

  const rename: RequestHandler = async (req, res) => {
    const id = Number(req.params.id);
    const input = parse(RenamePasskeyForm, req.body);
    if (!input.ok) return again(req, res, 422, input.fields, id);
    if (!Number.isSafeInteger(id) || !(await accounts.renamePasskey(currentUser(res)!.id, id, input.data.name))) {
      return again(req, res, 404, { passkey: 'You have no such passkey (it may have been removed).' });
    }
    redirect(req, res, '/account/security?notice=passkey_renamed');
  };

  return { remove, rename };
}
