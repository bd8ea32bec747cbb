// Where limit decisions go: a log line each (no email in the clear), and a count for the metrics.
import type { Logger } from '../log.ts';
import type { RateLimitName } from './policy.ts';

/** A per-IP limit (policy.ts), the per-email login throttle, or the argon2 queue bound. */
export type LimitName = RateLimitName | 'login_email' | 'hashing_queue';

export type Throttled = {
  limit: LimitName;
  retryAfterSeconds: number;
  /** The first 16 hex digits of the normalised email's SHA-256: enough to follow one target, not to read it. */
  emailHash?: string;
  client?: string;
};

export type LimitReport = {
  throttled: (decision: Throttled) => void;
  /** A limit's storage failed: the request went through unlimited (a database outage fails it anyway). */
  storeFailed: (limit: LimitName, err: unknown) => void;
  /** express-rate-limit's own checks (e.g. a misread client address): worth a look, not an outage. */
  limiterWarning: (limit: LimitName, err: unknown, message?: string) => void;
};

/**
 * `count` is the metrics hook: called once per throttle decision with the limit's name. Wire it to a
 * counter (e.g. prom-client's `inkwell_throttled_total{limit}`) where the metrics are built.
 */
export function createLimitReport(log: Logger, count: (limit: LimitName) => void = () => {}): LimitReport {
  return {
    throttled({ limit, retryAfterSeconds, emailHash, client }) {
      log.warn({ limit, retry_after_s: retryAfterSeconds, email_hash: emailHash, client }, 'throttled');
      count(limit);
    },
    storeFailed(limit, err) {
      log.warn({ limit, error: { message: (err as Error)?.message ?? String(err) } }, 'limit store failed; request let through');
    },
    limiterWarning(limit, err, message) {
      log.warn({ limit, error: { code: (err as { code?: string })?.code, message: (err as Error)?.message ?? String(err) } }, message ?? 'rate limiter warning');
    },
  };
}
