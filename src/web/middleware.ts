// Request policy: cross-site refusal, the signed-in user, rate limits, and errors.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Accounts, Profile, SessionUser } from '../accounts/index.ts';
import { isDatabaseUnavailable } from '../db/faults.ts';
import { LogThrottle, type Logger } from '../log.ts';
import { showError, jsonError, wantsJson } from './respond.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses state-changing requests that a browser sent from another site (CSRF), by Fetch Metadata.
 * Not by Origin alone: from a no-referrer page a same-origin form POST carries `Origin: null`.
 * Browsers without Sec-Fetch-Site fall back to Origin; clients that send neither are not browsers.
 */
export function refuseCrossSite(appOrigin: string): RequestHandler {
  return (req, res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const site = req.get('Sec-Fetch-Site');
    const origin = req.get('Origin');
    const allowed = site !== undefined ? site === 'same-origin' || site === 'none' : origin === undefined || origin === appOrigin;
    if (allowed) return next();
    showError(req, res, 403, 'cross_site', 'This request came from another site and was refused.');
  };
}

/**
 * Puts the signed-in user in res.locals.user. A session opened under an older credential
 * version (the password changed since) is ended here, which also closes the race of a login
 * that completed while a reset was committing.
 */
export function loadUser(accounts: Accounts): RequestHandler {
  return async (req, res, next) => {
    const { userId, credentialVersion } = req.session;
    if (userId === undefined) return next();
    const user = await accounts.findUser(userId);
    if (user && user.credentialVersion === credentialVersion) {
      res.locals.user = user;
      return next();
    }
    await regenerateSession(req);
    next();
  };
}

export function currentUser(res: Response): Profile | undefined {
  return res.locals.user as Profile | undefined;
}

/** Pages send visitors to log in and come back; the API answers 401. */
export const requireUser: RequestHandler = (req, res, next) => {
  if (currentUser(res)) return next();
  if (wantsJson(req)) return jsonError(res, 401, 'not_authenticated', 'Log in first.');
  res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
};

export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
}

/** Opens a fresh session (new id, so a planted id is worthless) for a user who just proved who they are. */
export async function logInSession(req: Request, user: SessionUser): Promise<void> {
  await regenerateSession(req);
  req.session.userId = user.id;
  req.session.credentialVersion = user.credentialVersion;
  await saveSession(req);
}

// Per client IP (as Express sees it with TRUST_PROXY). Counters live in this process's memory.
export const RATE_LIMITS = {
  login: { limit: 10, windowMinutes: 5 }, // guessing passwords
  register: { limit: 5, windowMinutes: 60 }, // mass sign-ups
  forgot: { limit: 5, windowMinutes: 15 }, // mail bombing someone's inbox
  reset: { limit: 10, windowMinutes: 15 }, // guessing tokens (hopeless at 256 bits, but cheap to stop)
} as const;

export type Limiters = Record<keyof typeof RATE_LIMITS, RequestHandler>;

export function createLimiters(enabled: boolean): Limiters {
  const make = ({ limit, windowMinutes }: { limit: number; windowMinutes: number }): RequestHandler =>
    enabled
      ? rateLimit({
          windowMs: windowMinutes * 60_000,
          limit,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
          handler: (req, res) =>
            showError(req, res, 429, 'rate_limited', 'Too many attempts from your network. Wait a few minutes and try again.'),
        })
      : (_req, _res, next) => next();
  return {
    login: make(RATE_LIMITS.login),
    register: make(RATE_LIMITS.register),
    forgot: make(RATE_LIMITS.forgot),
    reset: make(RATE_LIMITS.reset),
  };
}

export const notFound: RequestHandler = (req, res) => showError(req, res, 404, 'not_found', 'There is no page here.');

// What a client is told to wait when the database is unavailable: a restart or failover takes seconds.
export const RETRY_AFTER_SECONDS = 10;
export const UNAVAILABLE_MESSAGE =
  'Inkwell cannot reach its database right now, so nothing was saved or changed. Please try again in a minute.';

/**
 * Logs a failing dependency at most once per interval, with how many failures were not logged:
 * a database outage writes a line every 10 s, not a stack trace per request.
 */
export function dependencyLog(log: Logger, throttle = new LogThrottle()) {
  return (dependency: string, err: unknown) =>
    throttle.run(dependency, (suppressed) => log.error({ dependency, error: summary(err), suppressed }, `${dependency} unavailable`));
}

/**
 * Client errors keep their status with a plain message. The database being unavailable (down,
 * restarting, pool exhausted, disk full) is a 503 with Retry-After: the request changed nothing,
 * and the client may simply try again. Anything else is logged and is a 500.
 */
export function handleErrors(log: Logger, reportUnavailable = dependencyLog(log)) {
  return (err: Error & { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
    const unavailable = isDatabaseUnavailable(err);
    if (unavailable) reportUnavailable('database', err);
    if (res.headersSent) {
      // Too late to answer differently (e.g. the session store failed while saving an answer already
      // sent). Logged as JSON, never left to Express's stderr stack trace; an answer cut short can
      // only end with its connection.
      if (!unavailable) log.error({ err, url: req.originalUrl }, 'request failed after its answer had started');
      if (!res.writableEnded) req.socket.destroy();
      return;
    }
    if (unavailable) {
      res.set('Retry-After', String(RETRY_AFTER_SECONDS));
      return showError(req, res, 503, 'unavailable', UNAVAILABLE_MESSAGE);
    }
    const status = err.status ?? 500;
    if (status >= 400 && status < 500) {
      const message =
        err.type === 'entity.parse.failed' ? 'The request body is not valid JSON.'
        : err.type === 'entity.too.large' ? 'The request is too large.'
        : 'The request could not be understood.';
      return showError(req, res, status, err.type?.replace(/\W/g, '_') ?? 'bad_request', message);
    }
    log.error({ err }, 'request failed');
    showError(req, res, 500, 'internal', 'Something went wrong on our side. Please try again.');
  };
}

/** What is safe and useful to log of a dependency's error: kind, code, message; no stack, no data. */
function summary(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  return { type: err.name, code: (err as Error & { code?: unknown }).code, message: err.message.split('\n')[0] };
}
