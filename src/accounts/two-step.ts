// Turning two-step verification on and off, recovery codes, and "confirm it's you" (the password plus,
// for two-step accounts, a code). Checking a code at sign-in is second-step.ts; the pipeline is sign-in.ts.
import type { Orm, EntityManager } from '../db/orm.ts';
import { RecoveryCode, Session, TwoStep, User } from '../db/entities.ts';
import type { createActivity, EventKind } from './activity.ts';
import type { Client } from './clients.ts';
import type { LoginThrottleApi } from '../limits/login-throttle.ts';
import { queue as queueEmail, type EmailPayloads } from './notifier.ts';
import { verifyPassword } from './passwords.ts';
import { recoveryCodesLeft, replaceRecoveryCodes } from './recovery-codes.ts';
import type { SecondStep } from './second-step.ts';
import type { SecretBox } from './secret-box.ts';
import { base32Of, matchingStep, newTotpSecret, otpauthUri } from './totp.ts';

export type TwoStepChange = EmailPayloads['two-step-changed']['change'];
export type Setup = { ok: true; secret: string; otpauthUri: string } | { ok: false; reason: 'already_on' };
export type Enabling = { ok: true; recoveryCodes: string[] } | { ok: false; reason: 'invalid_code' | 'not_started' };
/** "Confirm it's you": the password, and for two-step accounts a code (never a recovery code). */
export type Confirmation =
  | { ok: true }
  | { ok: false; reason: 'wrong_password' | 'code_required' | 'invalid_code' }
  | { ok: false; reason: 'throttled' | 'locked'; retryAfterSeconds: number };

type Deps = {
  orm: Orm;
  now: () => Date;
  box: SecretBox;
  secondStep: SecondStep;
  activity: ReturnType<typeof createActivity>;
  loginThrottle: LoginThrottleApi;
};

export function createTwoStep({ orm, now, box, secondStep, activity, loginThrottle }: Deps) {
  const em = () => orm.em.fork();

  /** What the account page and /api/users/me show. */
  async function twoStepStatus(userId: number): Promise<{ on: boolean; recoveryCodesLeft: number }> {
    const on = await secondStep.isOn(userId);
    return { on, recoveryCodesLeft: on ? await recoveryCodesLeft(em(), userId) : 0 };
  }

  /** A fresh secret for the authenticator app; two-step is not on until a code from it is confirmed. */
  async function startTwoStep(userId: number): Promise<Setup> {
    const db = em();
    const user = await db.findOneOrFail(User, { id: userId }, { fields: ['email'] });
    if (await secondStep.isOn(userId, db)) return { ok: false, reason: 'already_on' };
    const secret = newTotpSecret();
    await db.upsert(TwoStep, { user: userId, secret: box.seal(secret), enabledAt: null, lastStep: null, failures: 0, createdAt: now() }, { onConflictFields: ['user'] });
    return { ok: true, secret: base32Of(secret), otpauthUri: otpauthUri(secret, user.email) };
  }

  /**
   * Turns two-step on with a correct code from the app (so nobody is locked out by a mistyped setup),
   * records that code's time step (it cannot sign in later), issues ten recovery codes and ends every
   * other session: they never passed a second step.
   */
  async function enableTwoStep(userId: number, code: string, currentSessionId: string | undefined, client: Client | null): Promise<Enabling> {
    const row = await em().findOne(TwoStep, { user: userId, enabledAt: null });
    const secret = row && box.open(row.secret);
    if (!secret) return { ok: false, reason: 'not_started' };
    const step = matchingStep(secret, code, now());
    if (step === null) return { ok: false, reason: 'invalid_code' };
    const recoveryCodes = await em().transactional(async (tx) => {
      const on = await tx.nativeUpdate(TwoStep, { user: userId, enabledAt: null }, { enabledAt: now(), lastStep: step, failures: 0, lockedUntil: null });
      if (on !== 1) return null;
      const codes = await replaceRecoveryCodes(tx, userId, now());
      await tx.nativeDelete(Session, { user: userId, ...(currentSessionId ? { publicId: { $ne: currentSessionId } } : {}) });
      await changed(tx, userId, 'two_step_enabled', 'enabled', client);
      return codes;
    });
    return recoveryCodes ? { ok: true, recoveryCodes } : { ok: false, reason: 'not_started' };
  }

  async function disableTwoStep(userId: number, client: Client | null): Promise<void> {
    await em().transactional(async (tx) => {
      await tx.nativeDelete(TwoStep, { user: userId });
      await tx.nativeDelete(RecoveryCode, { user: userId });
      await changed(tx, userId, 'two_step_disabled', 'disabled', client);
    });
  }

  /** Ten new codes; the old ones stop working at once. */
  async function renewRecoveryCodes(userId: number, client: Client | null): Promise<string[] | null> {
    return em().transactional(async (tx) => {
      if (!(await secondStep.isOn(userId, tx))) return null;
      const codes = await replaceRecoveryCodes(tx, userId, now());
      await changed(tx, userId, 'recovery_codes_renewed', 'codes_renewed', client);
      return codes;
    });
  }

  /**
   * Confirm it's you: the current password (counted against the per-email login throttle, like any
   * password check) and, when two-step is on, a code from the app. Recovery codes never count.
   */
  async function confirmIdentity(userId: number, input: { password: string; code?: string }, signal?: AbortSignal): Promise<Confirmation> {
    const user = await em().findOne(User, { id: userId });
    if (!user) return { ok: false, reason: 'wrong_password' };
    const attempt = await loginThrottle.attempt(user.email);
    if (!attempt.ok) return { ok: false, reason: 'throttled', retryAfterSeconds: attempt.retryAfterSeconds };
    if (!(await verifyPassword(user.passwordHash, input.password, signal)).ok) return { ok: false, reason: 'wrong_password' };
    await loginThrottle.clear(user.email);
    if (!(await secondStep.isOn(userId))) return { ok: true };
    return checkCode(userId, input.code);
  }

  /** A code (never a recovery code) for a two-step account, under the account's second-step limits. */
  async function checkCode(userId: number, code: string | undefined): Promise<Confirmation> {
    if (code === undefined) return { ok: false, reason: 'code_required' };
    const checked = await secondStep.check(userId, { code }, { recoveryCodes: false });
    if (checked.ok) return { ok: true };
    return checked.reason === 'locked' ? checked : { ok: false, reason: 'invalid_code' };
  }

  /** A factor change: a security event and an email with "This wasn't me", in the change's transaction. */
  async function changed(tx: EntityManager, userId: number, kind: EventKind, change: TwoStepChange, client: Client | null, left?: number) {
    await activity.record(userId, kind, client, tx);
    await queueEmail(tx, 'two-step-changed', { userId, change, ...(left === undefined ? {} : { left }) });
  }

  return { twoStepStatus, startTwoStep, enableTwoStep, disableTwoStep, renewRecoveryCodes, confirmIdentity, changed };
}

export type TwoStepApi = ReturnType<typeof createTwoStep>;
