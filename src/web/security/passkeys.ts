// Passkeys over JSON (the browser's ceremonies use these too, from public/js/passkeys.js): options and
// answers for signing in, confirming it's you, and adding a passkey; listing and removing them.
// Each ceremony's challenge id waits in the session that asked for it, so it counts for that session only.
import type { Request, RequestHandler, Response } from 'express';
import type { Accounts, PasskeyView } from '../../accounts/index.ts';
import type { Ceremony } from '../../accounts/passkeys.ts';
import type { Logger } from '../../log.ts';
import { parse } from '../forms.ts';
import { clientOfRequest, currentUser, saveSession } from '../middleware.ts';
import { invalidInput, jsonError } from '../respond.ts';
import { confirmIt, markConfirmed, recentlyConfirmed, refuseConfirmation } from './confirm.ts';
import { AddPasskeyBody, PasskeyConfirmation, PasskeySignInBody, RenamePasskeyForm, ResetPasskeyOptionsBody } from './passkey-forms.ts';
import type { TokenLinks } from '../token-links.ts';
import { answerSignIn } from '../accounts/api.ts';

declare module 'express-session' {
  interface SessionData {
    /** The challenge row each passkey ceremony of this session waits on (src/accounts/passkey-challenges.ts). */
    passkeyChallenges: Partial<Record<Ceremony, number>>;
  }
}

/** Keeps the ceremony's new challenge in the session (its previous one was deleted with it). */
async function remember(req: Request, ceremony: Ceremony, challengeId: number): Promise<void> {
  req.session.passkeyChallenges = { ...req.session.passkeyChallenges, [ceremony]: challengeId };
  await saveSession(req);
}

const challengeOf = (req: Request, ceremony: Ceremony) => req.session.passkeyChallenges?.[ceremony];

function passkeyJson(pk: PasskeyView) {
  return {
    id: pk.id, name: pk.name, created_at: pk.createdAt.toISOString(), last_used_at: pk.lastUsedAt?.toISOString() ?? null, backed_up: pk.backedUp,
  };
}

export function passkeyApi({ accounts, log, resetLinks }: { accounts: Accounts; log: Logger; resetLinks: TokenLinks }) {
  /** Why an assertion was refused, as JSON; the unknown credential's id lets the browser forget it. */
  function refuse(res: Response, outcome: Exclude<Awaited<ReturnType<Accounts['signInWithPasskey']>>, { ok: true }>) {
    switch (outcome.reason) {
      case 'expired_challenge':
        return jsonError(res, 400, 'passkey_challenge_expired', 'That passkey request expired or was already used. Try again.');
      case 'unknown_passkey':
        res.status(401).json({
          error: { code: 'unknown_passkey', message: 'This passkey is not on any Inkwell account (it may have been removed).' },
          credential_id: outcome.credentialId,
        });
        return;
      case 'counter_regressed':
        // Possibly a cloned authenticator: the owner is emailed by the domain; operators see it here.
        log.warn({ user_id: outcome.userId }, 'passkey refused: its signature counter went backwards');
        return jsonError(res, 401, 'invalid_passkey', 'That passkey could not be verified.');
      case 'invalid_passkey':
        return jsonError(res, 401, 'invalid_passkey', 'That passkey could not be verified.');
    }
  }

  const signInOptions: RequestHandler = async (req, res) => {
    const { challengeId, options } = await accounts.passkeyOptions('sign_in', null, challengeOf(req, 'sign_in'));
    await remember(req, 'sign_in', challengeId);
    res.json(options);
  };

  const signIn: RequestHandler = async (req, res) => {
    const input = parse(PasskeySignInBody, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.signInWithPasskey(challengeOf(req, 'sign_in'), input.data.response, req.session.pendingSignIn, clientOfRequest(req));
    if (!outcome.ok) return refuse(res, outcome);
    await answerSignIn(req, res, accounts, outcome.step);
  };

  const confirmOptions: RequestHandler = async (req, res) => {
    const { challengeId, options } = await accounts.passkeyOptions('confirm', currentUser(res)!.id, challengeOf(req, 'confirm'));
    await remember(req, 'confirm', challengeId);
    res.json(options);
  };

  /** "Confirm it's you" with a user-verified passkey: the session is confirmed for 10 minutes. */
  const confirm: RequestHandler = async (req, res) => {
    const input = parse(PasskeySignInBody, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.confirmWithPasskey(currentUser(res)!.id, challengeOf(req, 'confirm'), input.data.response);
    if (!outcome.ok) return refuse(res, outcome);
    await markConfirmed(req);
    res.status(204).end();
  };

  /**
   * Options for a two-step account's reset: its own passkeys, for whoever holds its reset link (from the
   * body, or the link's cookie on the page). The link is not used; the reset itself takes the answer.
   */
  const resetOptions: RequestHandler = async (req, res) => {
    const input = parse(ResetPasskeyOptionsBody, req.body ?? {});
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.resetPasskeyOptions(input.data.token ?? resetLinks.recall(req), challengeOf(req, 'reset'));
    if (!outcome.ok) {
      return outcome.reason === 'invalid_token'
        ? jsonError(res, 400, 'invalid_token', 'This reset link is invalid or has expired. Ask for a new one.')
        : jsonError(res, 400, 'no_passkeys', 'This account has no passkey. Enter a code instead.');
    }
    await remember(req, 'reset', outcome.challengeId);
    res.json(outcome.options);
  };

  const registrationOptions: RequestHandler = async (req, res) => {
    const input = parse(PasskeyConfirmation, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const confirmed = await confirmIt(req, res, accounts, input.data);
    if (!confirmed.ok) return refuseConfirmation(res, confirmed);
    const { challengeId, options } = await accounts.passkeyRegistrationOptions(currentUser(res)!.id, challengeOf(req, 'register'));
    await remember(req, 'register', challengeId);
    res.json(options);
  };

  const add: RequestHandler = async (req, res) => {
    const input = parse(AddPasskeyBody, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    // The options asked for a confirmation; it must still hold when the new passkey arrives.
    if (!recentlyConfirmed(req)) return refuseConfirmation(res, { ok: false, reason: 'confirmation_required' });
    const outcome = await accounts.addPasskey(currentUser(res)!.id, challengeOf(req, 'register'), input.data.response, { name: input.data.name }, clientOfRequest(req));
    if (outcome.ok) return res.status(201).json({ passkey: passkeyJson(outcome.passkey) });
    switch (outcome.reason) {
      case 'expired_challenge':
        return jsonError(res, 400, 'passkey_challenge_expired', 'That passkey request expired or was already used. Try again.');
      case 'invalid_passkey':
        return jsonError(res, 400, 'invalid_passkey', 'That passkey could not be verified (user verification, such as a PIN or a fingerprint, is required).');
      case 'already_added':
        return jsonError(res, 409, 'passkey_exists', 'This passkey is already on an account.');
    }
  };

  const list: RequestHandler = async (_req, res) => {
    res.json({ passkeys: (await accounts.listPasskeys(currentUser(res)!.id)).map(passkeyJson) });
  };

  const rename: RequestHandler = async (req, res) => {
    const input = parse(RenamePasskeyForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const id = Number(req.params.id);
    const user = currentUser(res)!.id;
    if (!Number.isSafeInteger(id) || !(await accounts.renamePasskey(user, id, input.data.name))) return noSuchPasskey(res);
    const passkey = (await accounts.listPasskeys(user)).find((p) => p.id === id)!;
    res.json({ passkey: passkeyJson(passkey) });
  };

  const remove: RequestHandler = async (req, res) => {
    const input = parse(PasskeyConfirmation, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const confirmed = await confirmIt(req, res, accounts, input.data);
    if (!confirmed.ok) return refuseConfirmation(res, confirmed);
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || !(await accounts.removePasskey(currentUser(res)!.id, id, clientOfRequest(req)))) return noSuchPasskey(res);
    res.status(204).end();
  };

  return { signInOptions, signIn, confirmOptions, confirm, resetOptions, registrationOptions, add, list, rename, remove };
}

function noSuchPasskey(res: Response): void {
  jsonError(res, 404, 'not_found', 'You have no passkey with this id.');
}
