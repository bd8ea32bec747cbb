// Checking a second factor (an authenticator code or a recovery code) for an account with two-step
// on, under the account's own limits. Used by the sign-in pipeline, the reset and "confirm it's you".
import { raw } from '@mikro-orm/core';
import type { EntityManager, Orm } from '../db/orm.ts';
import { TwoStep } from '../db/entities.ts';
import { toDatabaseDate, fromDatabaseDate } from '../db/dates.ts';
import { useRecoveryCode, recoveryCodesLeft } from './recovery-codes.ts';
import type { SecretBox } from './secret-box.ts';
import { matchingStep } from './totp.ts';

/**
 * The second step's limits: part of the factor's strength (a 6-digit code is guessable without
 * them), so they hold even with RATE_LIMITS=off. Per account, in the database: shared by instances.
 */
export const SECOND_STEP_LIMITS = {
  /** A pending sign-in (first factor passed) lasts this long... */
  pendingMinutes: 10,
  /** ...and allows this many second-step tries, then it is gone and the first factor is asked again. */
  triesPerPending: 5,
  /** Failures in a row, from any path (sign-in, reset, confirm), that lock the second step... */
  failuresBeforeLock: 10,
  /** ...for this long: 10 tries per 15 min makes 1e6 codes (±1 step) a years-long search. */
  lockMinutes: 15,
  /** A wrong second factor after a correct password emails the owner at most this often. */
  failureNoticeEveryMs: 3600_000,
} as const;

export type SecondFactor = 'totp' | 'recovery_code' | 'passkey';
/** What a person typed as their second factor. Recovery codes are refused where they do not count. */
export type SecondFactorProof = { code: string } | { recoveryCode: string };
export type SecondFactorCheck =
  | { ok: true; used: 'totp' }
  | { ok: true; used: 'recovery_code'; recoveryCodesLeft: number }
  | { ok: false; reason: 'invalid_code' }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number };

export function createSecondStep({ orm, now, box }: { orm: Orm; now: () => Date; box: SecretBox }) {
  const em = () => orm.em.fork();
  const date = (d: Date) => toDatabaseDate(orm.em, d);

  /** Whether the account has two-step verification on (an authenticator confirmed by a code). */
  async function isOn(userId: number, tx: EntityManager = em()): Promise<boolean> {
    return (await tx.count(TwoStep, { user: userId, enabledAt: { $ne: null } })) > 0;
  }

  /**
   * Checks a code or a recovery code. The try is counted before the check and cleared on success, so
   * concurrent guesses cannot all slip in before the first failure is written.
   */
  async function check(userId: number, proof: SecondFactorProof, options: { recoveryCodes: boolean }): Promise<SecondFactorCheck> {
    const at = now();
    const counted = await countTry(userId, at);
    if (!counted.ok) return counted;
    const outcome = await verify(userId, proof, options, at);
    if (outcome.ok) await em().nativeUpdate(TwoStep, { user: userId }, { failures: 0, lockedUntil: null });
    return outcome;
  }

  async function verify(userId: number, proof: SecondFactorProof, options: { recoveryCodes: boolean }, at: Date): Promise<SecondFactorCheck> {
    const invalid = { ok: false, reason: 'invalid_code' } as const;
    if ('recoveryCode' in proof) {
      if (!options.recoveryCodes || !(await useRecoveryCode(em(), userId, proof.recoveryCode, at))) return invalid;
      return { ok: true, used: 'recovery_code', recoveryCodesLeft: await recoveryCodesLeft(em(), userId) };
    }
    const row = await em().findOne(TwoStep, { user: userId, enabledAt: { $ne: null } });
    const secret = row && box.open(row.secret);
    const step = secret ? matchingStep(secret, proof.code, at) : null;
    if (step === null) return invalid;
    // Replay: a time step once accepted is never accepted again, by one conditional update.
    const accepted = await em().nativeUpdate(TwoStep, { user: userId, $or: [{ lastStep: null }, { lastStep: { $lt: step } }] }, { lastStep: step });
    return accepted === 1 ? { ok: true, used: 'totp' } : invalid;
  }

  /** One try against the account's budget, or the time left on its lock. */
  async function countTry(userId: number, at: Date): Promise<{ ok: true } | { ok: false; reason: 'locked'; retryAfterSeconds: number }> {
    const { failuresBeforeLock, lockMinutes } = SECOND_STEP_LIMITS;
    const lockEnded = 'locked_until is not null and locked_until <= ?';
    const failures = `case when ${lockEnded} then 1 else failures + 1 end`;
    const unlocked = { user: userId, $or: [{ lockedUntil: null }, { lockedUntil: { $lte: at } }] };
    const counted = await em().nativeUpdate(TwoStep, unlocked, { failures: raw(failures, [date(at)]) });
    if (counted === 1) {
      // The try that reaches the limit locks the ones after it (it is itself still checked).
      await em().nativeUpdate(
        TwoStep,
        { ...unlocked, failures: { $gte: failuresBeforeLock } },
        { lockedUntil: new Date(at.getTime() + lockMinutes * 60_000) },
      );
      return { ok: true };
    }
    const row = await em().findOne(TwoStep, { user: userId }, { fields: ['lockedUntil'] });
    // No row: two-step is not set up, so any proof is simply wrong (checked, found invalid).
    if (!row?.lockedUntil) return { ok: true };
    const until = fromDatabaseDate(row.lockedUntil).getTime();
    return { ok: false, reason: 'locked', retryAfterSeconds: Math.max(1, Math.ceil((until - at.getTime()) / 1000)) };
  }

  /** Claims the hourly window for the "wrong second factor" email in one conditional update. */
  async function claimFailureNotice(userId: number): Promise<boolean> {
    const at = now();
    const since = new Date(at.getTime() - SECOND_STEP_LIMITS.failureNoticeEveryMs);
    const claimed = await em().nativeUpdate(
      TwoStep,
      { user: userId, $or: [{ failureNoticedAt: null }, { failureNoticedAt: { $lte: since } }] },
      { failureNoticedAt: at },
    );
    return claimed === 1;
  }

  return { isOn, check, claimFailureNotice };
}

export type SecondStep = ReturnType<typeof createSecondStep>;
