// The per-email login throttle: consecutive failed password checks per normalised email, in the
// database, from whatever address they come and whether or not an account has that email.
import { createHash } from 'node:crypto';
import type { Orm } from '../db/orm.ts';
import { LoginThrottle } from '../db/entities.ts';
import { blockAfterFailure, LOGIN_THROTTLE } from './policy.ts';
import type { LimitReport } from './report.ts';
import { fromDatabaseDate, toDatabaseDate } from '../db/dates.ts';

export type Attempt = { ok: true } | { ok: false; retryAfterSeconds: number };

export type LoginThrottleOptions = {
  orm: Orm;
  report: LimitReport;
  /** RATE_LIMITS=off: never throttles, never touches the table. */
  enabled: boolean;
  now?: () => Date;
};

export type LoginThrottleApi = ReturnType<typeof createLoginThrottle>;

export function createLoginThrottle({ orm, report, enabled, now = () => new Date() }: LoginThrottleOptions) {
  const db = () => orm.em.getConnection();
  const date = (d: Date) => toDatabaseDate(orm.em, d);

  /**
   * Counts a password check for `email` (already normalised) before it is made, or refuses it while
   * the email is blocked. Counted first, cleared on success: concurrent guesses cannot all slip in
   * before the first failure is written. One statement, the same for every email, account or not.
   */
  async function attempt(email: string): Promise<Attempt> {
    if (!enabled) return { ok: true };
    const key = emailHash(email);
    try {
      const at = now();
      const forgetBefore = new Date(at.getTime() - LOGIN_THROTTLE.forgetAfterHours * 3600_000);
      const steps = blockSteps(at);
      const counted: { failures: number } | undefined = await db().execute(
        `insert into login_throttle (email_hash, failures, last_failed_at, blocked_until) values (?, 1, ?, ?)
         on conflict (email_hash) do update set
           failures = case when login_throttle.last_failed_at <= ? then 1 else login_throttle.failures + 1 end,
           last_failed_at = excluded.last_failed_at,
           blocked_until = case
             when login_throttle.last_failed_at <= ? then excluded.blocked_until
             ${steps.map(() => 'when login_throttle.failures + 1 >= ? then ?').join('\n             ')}
             else excluded.blocked_until end
         where login_throttle.blocked_until <= ?
         returning failures`,
        [key, date(at), date(at), date(forgetBefore), date(forgetBefore), ...steps.flatMap(([n, until]) => [n, date(until)]), date(at)],
        'get',
      );
      if (counted) return { ok: true };
      // Blocked: the update's condition failed and nothing was counted. Only now is the row read.
      const row = await orm.em.fork().findOne(LoginThrottle, { emailHash: key });
      const until = row ? fromDatabaseDate(row.blockedUntil).getTime() : at.getTime();
      const retryAfterSeconds = Math.max(1, Math.ceil((until - at.getTime()) / 1000));
      report.throttled({ limit: 'login_email', retryAfterSeconds, emailHash: key.slice(0, 16) });
      return { ok: false, retryAfterSeconds };
    } catch (err) {
      report.storeFailed('login_email', err);
      return { ok: true };
    }
  }

  /** The password was right, or the owner proved themselves by a reset or a change: start over. */
  async function clear(email: string): Promise<void> {
    if (!enabled) return;
    try {
      await orm.em.fork().nativeDelete(LoginThrottle, { emailHash: emailHash(email) });
    } catch (err) {
      report.storeFailed('login_email', err);
    }
  }

  /** Housekeeping: rows neither blocking nor remembered any more. */
  function deleteExpired(): Promise<number> {
    const at = now();
    const forgetBefore = new Date(at.getTime() - LOGIN_THROTTLE.forgetAfterHours * 3600_000);
    return orm.em.fork().nativeDelete(LoginThrottle, { lastFailedAt: { $lte: forgetBefore }, blockedUntil: { $lte: at } });
  }

  return { attempt, clear, deleteExpired };
}

export function emailHash(normalisedEmail: string): string {
  return createHash('sha256').update(normalisedEmail).digest('hex');
}

/**
 * [failure ordinal, block end] from the largest down, for the CASE above: the first that the new
 * count reaches wins. Below the threshold the block ends at once (`excluded.blocked_until`, now).
 */
function blockSteps(at: Date): [number, Date][] {
  const steps: [number, Date][] = [];
  for (let n = LOGIN_THROTTLE.failures; ; n++) {
    steps.push([n, new Date(at.getTime() + blockAfterFailure(n))]);
    if (blockAfterFailure(n) >= LOGIN_THROTTLE.maxBlockMinutes * 60_000) break;
  }
  return steps.reverse();
}
