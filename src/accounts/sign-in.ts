/**
 * The one sign-in pipeline: the only way a session becomes signed in.
 *
 * A first factor (a password, the sign-up link, an emailed sign-in link, a passkey, anything added
 * later) proves who someone is in its own module, then ends here with `beginSignIn(user, method)`:
 *
 *   - `{ signedIn }`: done; the web layer opens a fresh session from it (new id, `authenticatedAt`,
 *     the methods used). `SignedIn` values are made only here, so no path can skip this module.
 *   - `{ secondStep: { pendingId, methods } }`: the account has two-step verification on. A *pending*
 *     sign-in (user, method, 10 min, 5 tries) is stored; the web layer keeps only its id in the
 *     session, which is signed in for no route, and asks for one of `methods` on /login/two-step.
 *     `completeSecondStep(pendingId, proof)` then answers `{ ok: true, signedIn }` or why not.
 *
 * A passkey sign-in with user verification is two factors in one: `beginSignIn(user, 'passkey',
 * { userVerified: true })` completes at once. A passkey used *as* the second step is
 * `completeSecondStep(pendingId, { passkeyUserId })` once the passkeys module has verified it.
 * A reset never signs in; it checks the second factor itself (second-step.ts).
 *
 * A sign-in is on record before anyone is told of it: `onSignedIn` runs in the transaction that
 * completes it (for a second step, the one that claims the pending row), so the sign-in event and
 * the new-device notice commit with it or not at all, and the session opens only afterwards
 * (docs/accounts.md, "Nothing after the answer tells either").
 */
import { raw } from '@mikro-orm/core';
import type { EntityManager, Orm } from '../db/orm.ts';
import { Passkey, PendingSignIn, User } from '../db/entities.ts';
import { SECOND_STEP_LIMITS, type SecondFactor, type SecondFactorProof, type SecondStep } from './second-step.ts';
import type { Client } from './clients.ts';
import type { SessionUser } from './values.ts';

/** "Confirm it's you" (sudo mode) holds this long after a full authentication; not sliding. */
export const CONFIRMATION_MS = 10 * 60_000;

export type FirstFactor = 'password' | 'signup_link' | 'email_link' | 'passkey';
export type { SecondFactor };

declare const signedInMark: unique symbol;
/** Proof that the pipeline let someone in; only this module makes one. */
export type SignedIn = {
  readonly [signedInMark]: true;
  user: SessionUser;
  /** How, in order: e.g. ['password', 'totp']. */
  methods: (FirstFactor | SecondFactor)[];
  authenticatedAt: Date;
  /**
   * Whether this sign-in counts as "confirm it's you" (sudo mode) for the next minutes: a full
   * re-authentication does; one finished with a recovery code does not.
   */
  confirms: boolean;
};

export type SignInStep =
  | { signedIn: SignedIn; secondStep?: never }
  | { secondStep: { pendingId: number; userId: number; methods: SecondFactor[] }; signedIn?: never };

export type SecondStepProof = SecondFactorProof | { passkeyUserId: number };
export type SecondStepOutcome =
  | { ok: true; signedIn: SignedIn; recoveryCodesLeft?: number }
  // Wrong: `triesLeft` 0 means the pending sign-in is gone and the first factor must be given again.
  | { ok: false; reason: 'invalid_code'; triesLeft: number; userId: number }
  // No such pending sign-in (never, expired, used up, or the password changed meanwhile).
  | { ok: false; reason: 'expired' }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number };

export type SignInOptions = {
  orm: Orm;
  now: () => Date;
  secondStep: SecondStep;
  /** Told of each wrong second factor after a correct first one (events, the owner's email). */
  onSecondStepFailed?: (userId: number, client: Client | null) => Promise<void>;
  /** Told of each recovery code used, with how many are left (the owner is emailed). */
  onRecoveryCodeUsed?: (userId: number, left: number) => Promise<void>;
  /**
   * Told of each completed sign-in, in its transaction: it is recorded (with the new-device check and
   * notice), and a full sign-in cancels a lost-factor removal. The sign-in happens only if this commits.
   */
  onSignedIn?: (signedIn: SignedIn, client: Client | null, tx: EntityManager) => Promise<void>;
};

export function createSignIn({ orm, now, secondStep, onSecondStepFailed, onRecoveryCodeUsed, onSignedIn }: SignInOptions) {
  const em = () => orm.em.fork();

  /** Where every first factor ends. `client` is who is signing in, for the record and the new-device check. */
  async function beginSignIn(
    user: SessionUser,
    method: FirstFactor,
    options: { userVerified?: boolean; client?: Client | null } = {},
  ): Promise<SignInStep> {
    const client = options.client ?? null;
    if (method === 'passkey' && options.userVerified) return { signedIn: await complete(user, ['passkey'], true, client) };
    if (!(await secondStep.isOn(user.id))) return { signedIn: await complete(user, [method], true, client) };
    const at = now();
    const pendingId = Number(
      await em().insert(PendingSignIn, {
        user: user.id,
        method,
        credentialVersion: user.credentialVersion,
        triesLeft: SECOND_STEP_LIMITS.triesPerPending,
        expiresAt: new Date(at.getTime() + SECOND_STEP_LIMITS.pendingMinutes * 60_000),
        createdAt: at,
      }),
    );
    return { secondStep: { pendingId, userId: user.id, methods: await methodsFor(user.id) } };
  }

  /** The second factors /login/two-step offers for this pending sign-in, or null if it is gone. */
  async function pendingSignIn(pendingId: number): Promise<{ userId: number; methods: SecondFactor[] } | null> {
    const pending = await livePending(pendingId);
    return pending && { userId: pending.user.id, methods: await methodsFor(pending.user.id) };
  }

  /** Whose sign-in this is, while it is live (without the methods pendingSignIn also looks up). */
  async function pendingUserId(pendingId: number): Promise<number | null> {
    return (await livePending(pendingId))?.user.id ?? null;
  }

  async function completeSecondStep(pendingId: number, proof: SecondStepProof, client: Client | null = null): Promise<SecondStepOutcome> {
    const pending = await livePending(pendingId);
    if (!pending) return { ok: false, reason: 'expired' };
    // The try is spent before anything is checked: concurrent guesses get five tries, not more.
    const spent = await em().nativeUpdate(
      PendingSignIn,
      { id: pendingId, triesLeft: { $gt: 0 }, expiresAt: { $gt: now() } },
      { triesLeft: raw('tries_left - 1') },
    );
    if (spent !== 1) return { ok: false, reason: 'expired' };
    const userId = pending.user.id;
    const user: SessionUser = { id: userId, credentialVersion: pending.credentialVersion };
    const first = pending.method as FirstFactor;

    if ('passkeyUserId' in proof) {
      // The passkeys module verified the assertion; it only counts for the pending user.
      if (proof.passkeyUserId === userId) return finish(pendingId, user, [first, 'passkey'], true, client);
      return failed(pendingId, userId, pending.triesLeft - 1, client);
    }
    const checked = await secondStep.check(userId, proof, { recoveryCodes: true });
    if (checked.ok) {
      const outcome = await finish(pendingId, user, [first, checked.used], checked.used === 'totp', client);
      if (checked.used !== 'recovery_code') return outcome;
      await onRecoveryCodeUsed?.(userId, checked.recoveryCodesLeft);
      return outcome.ok ? { ...outcome, recoveryCodesLeft: checked.recoveryCodesLeft } : outcome;
    }
    if (checked.reason === 'locked') return checked;
    return failed(pendingId, userId, pending.triesLeft - 1, client);
  }

  async function finish(
    pendingId: number, user: SessionUser, methods: SignedIn['methods'], confirms: boolean, client: Client | null,
  ): Promise<SecondStepOutcome> {
    const signedIn = await em().transactional(async (tx) => {
      // Deleting the pending row is the claim: of two concurrent right answers, one signs in, once on record.
      if ((await tx.nativeDelete(PendingSignIn, { id: pendingId })) !== 1) return null;
      return complete(user, methods, confirms, client, tx);
    });
    return signedIn ? { ok: true, signedIn } : { ok: false, reason: 'expired' };
  }

  async function failed(pendingId: number, userId: number, triesLeft: number, client: Client | null): Promise<SecondStepOutcome> {
    if (triesLeft <= 0) await em().nativeDelete(PendingSignIn, { id: pendingId });
    await onSecondStepFailed?.(userId, client);
    return { ok: false, reason: 'invalid_code', triesLeft: Math.max(0, triesLeft), userId };
  }

  /** Forgets a pending sign-in (the person went back to the login form, or logged out). */
  async function cancelPending(pendingId: number): Promise<void> {
    await em().nativeDelete(PendingSignIn, { id: pendingId });
  }

  /** A pending sign-in still in force: not expired, tries left, and the password unchanged since. */
  async function livePending(pendingId: number) {
    const pending = await em().findOne(PendingSignIn, { id: pendingId, expiresAt: { $gt: now() }, triesLeft: { $gt: 0 } });
    if (!pending) return null;
    const current = await em().findOne(User, { id: pending.user.id }, { fields: ['credentialVersion'] });
    return current?.credentialVersion === pending.credentialVersion ? pending : null;
  }

  async function methodsFor(userId: number): Promise<SecondFactor[]> {
    // A passkey is offered beside the code to accounts that have one (passkeys.ts verifies it).
    const passkeys = await em().count(Passkey, { user: userId });
    return passkeys > 0 ? ['totp', 'recovery_code', 'passkey'] : ['totp', 'recovery_code'];
  }

  /** Mints the proof, with the sign-in on record in `tx` (or a transaction of its own). */
  async function complete(
    user: SessionUser, methods: SignedIn['methods'], confirms: boolean, client: Client | null, tx?: EntityManager,
  ): Promise<SignedIn> {
    if (!tx) return em().transactional((own) => complete(user, methods, confirms, client, own));
    const signedIn = { user, methods, authenticatedAt: now(), confirms } as SignedIn;
    await onSignedIn?.(signedIn, client, tx);
    return signedIn;
  }

  /** Housekeeping: pending sign-ins nobody finished. */
  function deleteExpiredPending(): Promise<number> {
    return em().nativeDelete(PendingSignIn, { expiresAt: { $lte: now() } });
  }

  return { beginSignIn, pendingSignIn, pendingUserId, completeSecondStep, cancelPending, deleteExpiredPending };
}

export type SignInPipeline = ReturnType<typeof createSignIn>;
