// Passkeys (WebAuthn): adding one to an account, signing in with one, using one as the second step or to
// confirm it's you, and removing one. The only importer of @simplewebauthn/server.
//
// rpID and origin come from APP_BASE_URL (never a request header), user verification is required in
// every ceremony, sign-in takes discoverable credentials only (the options are the same for everyone),
// and a credential counts only for the account its user handle names.
import { randomBytes } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type {
  AuthenticationResponseJSON, AuthenticatorTransport, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { EntityManager, Orm } from '../db/orm.ts';
import { Passkey, PasskeyUser, User } from '../db/entities.ts';
import type { createActivity, EventKind } from './activity.ts';
import type { Client } from './clients.ts';
import { defaultPasskeyName } from './passkey-names.ts';
import { queue as queueEmail, type EmailPayloads } from './notifier.ts';
import { CHALLENGE_TTL_MS, claimChallenge, deleteExpiredChallenges, issueChallenge, type Ceremony } from './passkey-challenges.ts';
import type { SignInPipeline, SignInStep } from './sign-in.ts';

export type { Ceremony, AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON };
export type RelyingParty = { id: string; origin: string; name: string };
export type PasskeyView = { id: number; name: string; createdAt: Date; lastUsedAt: Date | null; backedUp: boolean };
type CeremonyOptions<T> = { challengeId: number; options: T };
export type Adding =
  | { ok: true; passkey: PasskeyView }
  | { ok: false; reason: 'expired_challenge' | 'invalid_passkey' | 'already_added' };
type Refused =
  | { ok: false; reason: 'expired_challenge' | 'invalid_passkey' }
  // Possibly a cloned authenticator: refused, and the owner is told.
  | { ok: false; reason: 'counter_regressed'; userId: number }
  // Not ours (removed, or never added): the browser may be told to forget it.
  | { ok: false; reason: 'unknown_passkey'; credentialId: string };
export type Assertion = { ok: true; userId: number } | Refused;
export type PasskeySignIn = { ok: true; step: SignInStep } | Refused;
export type PasskeyChange = EmailPayloads['passkey-changed']['change'];

const PASSKEY_NAME_MAX = 64;

let library: Promise<typeof import('@simplewebauthn/server')> | undefined;
/** Loaded at the first ceremony, not at start-up: it is the largest import of a start (~120 ms, docs/benchmarks.md). */
function webauthn(): Promise<typeof import('@simplewebauthn/server')> {
  return (library ??= import('@simplewebauthn/server'));
}
// ES256, EdDSA and RS256: what authenticators implement. The library would also offer ML-DSA-44 on Node 24,
// whose Web Crypto support is still experimental there (a warning on every start); add it once it is stable.
const ALGORITHMS = [-7, -8, -257];

type Deps = {
  orm: Orm;
  now: () => Date;
  relyingParty: RelyingParty;
  activity: ReturnType<typeof createActivity>;
  signIn: Pick<SignInPipeline, 'beginSignIn' | 'pendingUserId' | 'completeSecondStep' | 'cancelPending'>;
};

export function createPasskeys({ orm, now, relyingParty: rp, activity, signIn }: Deps) {
  const em = () => orm.em.fork();
  const invalid = { ok: false, reason: 'invalid_passkey' } as const;

  /** Options for adding a passkey: discoverable, user-verified, none of the account's own again. */
  async function passkeyRegistrationOptions(userId: number, replaces?: number): Promise<CeremonyOptions<PublicKeyCredentialCreationOptionsJSON>> {
    const db = em();
    const user = await db.findOneOrFail(User, { id: userId }, { fields: ['email', 'username'] });
    const handle = await userHandleOf(db, userId);
    const existing = await db.find(Passkey, { user: userId }, { fields: ['credentialId', 'transports'] });
    const { id, bytes } = await issueChallenge(db, 'register', userId, now(), replaces);
    const options = await (await webauthn()).generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userName: user.email,
      userDisplayName: user.username,
      userID: new Uint8Array(Buffer.from(handle, 'base64url')),
      challenge: bytes,
      timeout: CHALLENGE_TTL_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: transportsOf(p.transports) })),
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      supportedAlgorithmIDs: ALGORITHMS,
    });
    return { challengeId: id, options };
  }

  /** Verifies the new credential against the session's challenge and stores it (a security event and an email). */
  async function addPasskey(
    userId: number,
    challengeId: number | undefined,
    response: RegistrationResponseJSON,
    input: { name?: string },
    client: Client | null,
  ): Promise<Adding> {
    const db = em();
    const expectedChallenge = await claimChallenge(db, challengeId, 'register', userId, now());
    if (!expectedChallenge) return { ok: false, reason: 'expired_challenge' };
    const verification = await (await webauthn()).verifyRegistrationResponse({
      response, expectedChallenge, expectedOrigin: rp.origin, expectedRPID: rp.id, requireUserVerification: true,
    }).catch(() => null);
    // The outcome is read, not only the absence of an exception (GitLab 585333).
    if (!verification?.verified || !verification.registrationInfo.userVerified) return invalid;
    const info = verification.registrationInfo;
    const at = now();
    const name = input.name?.trim() || defaultPasskeyName(info.aaguid, info.passkeyProviderMetadata?.friendlyNames, client);
    try {
      const id = await db.transactional(async (tx) => {
        const id = await tx.insert(Passkey, {
          user: userId,
          credentialId: info.credential.id,
          publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
          counter: info.credential.counter,
          transports: info.credential.transports?.join(',') || null,
          deviceType: info.credentialDeviceType,
          backedUp: info.credentialBackedUp,
          aaguid: info.aaguid,
          name: name.slice(0, PASSKEY_NAME_MAX),
          createdAt: at,
          lastUsedAt: null,
        });
        await changed(tx, userId, 'passkey_added', 'added', name, at, client);
        return Number(id);
      });
      return { ok: true, passkey: { id, name, createdAt: at, lastUsedAt: null, backedUp: info.credentialBackedUp } };
    } catch (err) {
      // This device's credential is on an account already (excludeCredentials asks browsers not to).
      if (err instanceof UniqueConstraintViolationException) return { ok: false, reason: 'already_added' };
      throw err;
    }
  }

  /**
   * Options for signing in (`sign_in`: the same for everyone, no credential list, so nothing tells
   * whether an account has passkeys), for confirming it's you (`confirm`: the signed-in account's), or
   * for the second step of a reset (`reset`: the reset link owner's; only its holder gets them).
   */
  async function passkeyOptions(ceremony: 'sign_in' | 'confirm' | 'reset', userId: number | null, replaces?: number): Promise<CeremonyOptions<PublicKeyCredentialRequestOptionsJSON>> {
    const db = em();
    const forUser = ceremony === 'sign_in' ? null : userId;
    const own = forUser !== null
      ? (await db.find(Passkey, { user: forUser }, { fields: ['credentialId', 'transports'] })).map((p) => ({ id: p.credentialId, transports: transportsOf(p.transports) }))
      : undefined;
    const { id, bytes } = await issueChallenge(db, ceremony, forUser, now(), replaces);
    const options = await (await webauthn()).generateAuthenticationOptions({
      rpID: rp.id, challenge: bytes, timeout: CHALLENGE_TTL_MS, userVerification: 'required', allowCredentials: own,
    });
    if (!own) delete options.allowCredentials;
    return { challengeId: id, options };
  }

  /**
   * Signs in with a passkey. User verification is required, so it is two factors in one and completes
   * at once, even for a two-step account; half way through a sign-in of the same account (password
   * right, code not yet) it finishes that sign-in as its second step.
   */
  async function signInWithPasskey(
    challengeId: number | undefined, response: AuthenticationResponseJSON, pendingId: number | undefined, client: Client | null,
  ): Promise<PasskeySignIn> {
    const checked = await checkAssertion(challengeId, 'sign_in', null, response);
    if (!checked.ok) return checked;
    if (pendingId !== undefined && (await signIn.pendingUserId(pendingId)) === checked.userId) {
      const done = await signIn.completeSecondStep(pendingId, { passkeyUserId: checked.userId }, client);
      if (done.ok) return { ok: true, step: { signedIn: done.signedIn } };
    }
    // Another account's half-finished sign-in in this browser is dropped: the session is about to be replaced.
    if (pendingId !== undefined) await signIn.cancelPending(pendingId);
    const user = await em().findOneOrFail(User, { id: checked.userId }, { fields: ['credentialVersion'] });
    return { ok: true, step: await signIn.beginSignIn({ id: user.id, credentialVersion: user.credentialVersion }, 'passkey', { userVerified: true, client }) };
  }

  /** "Confirm it's you" with one of the signed-in account's passkeys. */
  async function confirmWithPasskey(userId: number, challengeId: number | undefined, response: AuthenticationResponseJSON): Promise<Assertion> {
    return checkAssertion(challengeId, 'confirm', userId, response);
  }

  /** The second step of a two-step account's reset: one of the reset link owner's passkeys, user-verified. */
  async function resetWithPasskey(userId: number, challengeId: number | undefined, response: AuthenticationResponseJSON): Promise<Assertion> {
    return checkAssertion(challengeId, 'reset', userId, response);
  }

  /**
   * Every check an assertion must pass, in this order: the challenge is claimed (deleted) first; the
   * credential is ours, of the account its user handle names (and of `userId` when one is signed in);
   * the signature, origin, rpID and user verification hold; and the counter did not go backwards.
   */
  async function checkAssertion(challengeId: number | undefined, ceremony: Ceremony, userId: number | null, response: AuthenticationResponseJSON): Promise<Assertion> {
    const db = em();
    const expectedChallenge = await claimChallenge(db, challengeId, ceremony, userId, now());
    if (!expectedChallenge) return { ok: false, reason: 'expired_challenge' };
    const passkey = await db.findOne(Passkey, { credentialId: response.id });
    if (!passkey) return { ok: false, reason: 'unknown_passkey', credentialId: response.id };
    const ownerId = passkey.user.id;
    if (userId !== null && ownerId !== userId) return invalid;
    const owner = await db.findOne(PasskeyUser, { user: ownerId });
    if (!owner || response.response.userHandle !== owner.handle) return invalid;
    const verification = await (await webauthn()).verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      // The counter is compared below, once the signature is known to be good, so a regression is told apart.
      credential: { id: passkey.credentialId, publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')), counter: 0, transports: transportsOf(passkey.transports) },
      requireUserVerification: true,
    }).catch(() => null);
    if (!verification?.verified || !verification.authenticationInfo.userVerified) return invalid;
    const { newCounter, credentialBackedUp } = verification.authenticationInfo;
    // Synced passkeys report 0 forever (0 → 0 is fine); any other counter must grow, or the key was cloned.
    // The update is conditional, so of two concurrent uses with one counter value only one counts.
    const moved = newCounter > 0
      ? await db.nativeUpdate(Passkey, { id: passkey.id, counter: { $lt: newCounter } }, { counter: newCounter, lastUsedAt: now(), backedUp: credentialBackedUp })
      : await db.nativeUpdate(Passkey, { id: passkey.id, counter: 0 }, { lastUsedAt: now(), backedUp: credentialBackedUp });
    if (moved === 1) return { ok: true, userId: ownerId };
    await db.transactional((tx) => changed(tx, ownerId, 'passkey_counter_regressed', 'counter_regressed', passkey.name, now(), null));
    return { ok: false, reason: 'counter_regressed', userId: ownerId };
  }

  async function listPasskeys(userId: number): Promise<PasskeyView[]> {
    const rows = await em().find(Passkey, { user: userId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return rows.map(viewOf);
  }

  async function renamePasskey(userId: number, id: number, name: string): Promise<boolean> {
    return (await em().nativeUpdate(Passkey, { id, user: userId }, { name: name.trim().slice(0, PASSKEY_NAME_MAX) })) === 1;
  }

  /** Removes one of the account's passkeys (a security event and an email). False: no such passkey of theirs. */
  async function removePasskey(userId: number, id: number, client: Client | null): Promise<boolean> {
    return em().transactional(async (tx) => {
      const passkey = await tx.findOne(Passkey, { id, user: userId });
      if (!passkey || (await tx.nativeDelete(Passkey, { id, user: userId })) !== 1) return false;
      await changed(tx, userId, 'passkey_removed', 'removed', passkey.name, now(), client);
      return true;
    });
  }

  /** What the browser may be told the account's passkeys now are (signalAllAcceptedCredentials). */
  async function acceptedPasskeys(userId: number): Promise<{ rpId: string; userHandle: string; credentialIds: string[] } | null> {
    const db = em();
    const owner = await db.findOne(PasskeyUser, { user: userId });
    if (!owner) return null;
    const rows = await db.find(Passkey, { user: userId }, { fields: ['credentialId'] });
    return { rpId: rp.id, userHandle: owner.handle, credentialIds: rows.map((p) => p.credentialId) };
  }

  async function changed(tx: EntityManager, userId: number, kind: EventKind, change: PasskeyChange, name: string, at: Date, client: Client | null) {
    await activity.record(userId, kind, client, tx);
    await queueEmail(tx, 'passkey-changed', { userId, change, name, at: at.toISOString() });
  }

  return {
    passkeyRegistrationOptions, addPasskey, passkeyOptions, signInWithPasskey, confirmWithPasskey, resetWithPasskey, listPasskeys, renamePasskey,
    removePasskey, acceptedPasskeys,
    deleteExpiredPasskeyChallenges: () => deleteExpiredChallenges(em(), now()),
  };
}


/**
 * "This wasn't me": every passkey added since the event the notice reported goes, so a passkey an
 * attacker added does not outlive the owner's recovery. Passkeys from before stay (they were the owner's).
 */
export function removePasskeysAddedSince(tx: EntityManager, userId: number, since: Date): Promise<number> {
  return tx.nativeDelete(Passkey, { user: userId, createdAt: { $gte: since } });
}

/** The account's passkeys by name, for the reset email (an owner may spot one that is not theirs). */
export async function passkeyNames(db: EntityManager, userId: number): Promise<string[]> {
  const rows = await db.find(Passkey, { user: userId }, { fields: ['name'], orderBy: { createdAt: 'asc', id: 'asc' } });
  return rows.map((p) => p.name);
}

/** The account's WebAuthn user handle, made on first use: 32 random bytes, never the id or the email. */
async function userHandleOf(db: EntityManager, userId: number): Promise<string> {
  const existing = await db.findOne(PasskeyUser, { user: userId });
  if (existing) return existing.handle;
  const handle = randomBytes(32).toString('base64url');
  try {
    await db.insert(PasskeyUser, { user: userId, handle, createdAt: new Date() });
    return handle;
  } catch (err) {
    // Two first registrations at once: the other one's handle stands.
    if (err instanceof UniqueConstraintViolationException) return (await db.findOneOrFail(PasskeyUser, { user: userId })).handle;
    throw err;
  }
}

function viewOf(p: Passkey): PasskeyView {
  return { id: p.id, name: p.name, createdAt: p.createdAt, lastUsedAt: p.lastUsedAt ?? null, backedUp: Boolean(p.backedUp) };
}

function transportsOf(stored: string | null | undefined): AuthenticatorTransport[] | undefined {
  return stored ? (stored.split(',') as AuthenticatorTransport[]) : undefined;
}
