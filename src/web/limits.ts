// The limits as HTTP sees them: per-IP limiters on the database store, and the 429/503 answers.
import type { Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Orm } from '../db/orm.ts';
import { RATE_LIMITS, type RateLimitName } from '../limits/policy.ts';
import { DatabaseRateLimitStore } from '../limits/rate-limit-store.ts';
import type { LimitReport } from '../limits/report.ts';
import { showError } from './respond.ts';


export type Limiters = Record<RateLimitName, RequestHandler>;

/**
 * One limiter, with its own store instance, per entry of RATE_LIMITS. A store failure lets the
 * request through with a warning: the database being down fails the request anyway.
 */
export function createLimiters({ enabled, orm, report }: { enabled: boolean; orm: Orm; report: LimitReport }): Limiters {
  const make = (name: RateLimitName): RequestHandler => {
    if (!enabled) return (_req, _res, next) => next();
    const policy: { limit: number; windowMinutes: number; per?: 'account' } = RATE_LIMITS[name];
    const { limit, windowMinutes } = policy;
    const perAccount = policy.per === 'account';
    return rateLimit({
      // Behind requireUser: the signed-in user's id (res.locals.user), so another network buys no more.
      ...(perAccount ? { keyGenerator: (_req: Request, res: Response) => `user:${(res.locals.user as { id: number }).id}` } : {}),
      windowMs: windowMinutes * 60_000,
      limit,
      store: new DatabaseRateLimitStore(orm, name),
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      passOnStoreError: true,
      // Its store errors ("error from store, allowing request…") and its configuration checks, in our log.
      logger: {
        error: (err, message) => (message?.includes('store') ? report.storeFailed(name, err) : report.limiterWarning(name, err, message)),
        warn: (err, message) => report.limiterWarning(name, err, message),
      },
      handler: (req, res) => {
        report.throttled({ limit: name, client: req.ip, retryAfterSeconds: Number(res.get('Retry-After')) || 0 });
        const message = perAccount
          ? 'Too many changes from this account lately. Wait a while and try again.'
          : 'Too many attempts from your network. Wait a few minutes and try again.';
        showError(req, res, 429, 'rate_limited', message);
      },
    });
  };
  return Object.fromEntries(Object.keys(RATE_LIMITS).map((name) => [name, make(name as RateLimitName)])) as Limiters;
}

/** What a throttled email's owner reads: what happened, for how long, and the way out. */
export function throttledMessage(retryAfterSeconds: number): string {
  const minutes = Math.ceil(retryAfterSeconds / 60);
  return `Too many wrong passwords were tried for this email address, so we have paused password checks for it. ` +
    `Try again in ${minutes === 1 ? 'a minute' : `${minutes} minutes`}, or choose a new password with "Forgot your password?".`;
}

export function setRetryAfter(res: Response, seconds: number): void {
  res.set('Retry-After', String(seconds));
}

/**
 * Aborts once the client has gone before its answer was sent, so queued argon2 work is dropped
 * instead of done for nobody.
 */
export function clientGone(req: Request, res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new ClientGone(req.method, req.path));
  });
  return controller.signal;
}

export class ClientGone extends Error {
  constructor(method: string, path: string) {
    super(`client left before the answer to ${method} ${path}`);
    this.name = 'ClientGone';
  }
}
