// Request policy: security headers, cross-site refusal, the signed-in user, rate limits, and errors.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { CONFIRMATION_MS, HashingBusy, type Accounts, type Profile, type SessionUser, type SignedIn } from '../accounts/index.ts';
import { clientOf, type Client } from '../accounts/clients.ts';
import { isDatabaseUnavailable } from '../db/faults.ts';
import { newPublicSessionId } from '../db/session-store.ts';
import type { LimitReport } from '../limits/report.ts';
import { ClientGone, setRetryAfter } from './limits.ts';
import { LogThrottle, type Logger } from '../log.ts';
import { showError, jsonError, wantsJson } from './respond.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The security headers of every answer (CSP, HSTS, Referrer-Policy, …), as helmet chooses them. They
 * do not depend on the request (the policy has no nonces), so helmet runs once, here, against a
 * recorder, and every answer gets the recorded headers in one step: run per answer, helmet's dozen
 * middlewares cost about a fifth of an anonymous page served from its copy (docs/benchmarks.md).
 */
export function securityHeaders(production: boolean): RequestHandler {
  const headers = new Map<string, string>();
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name, value),
    removeHeader: (name: string) => removed.push(name),
  };
  let ran = false;
  helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        'base-uri': ["'none'"],
        'object-src': ["'none'"],
        ...(production ? { 'upgrade-insecure-requests': [] } : {}),
      },
    },
    strictTransportSecurity: production ? { maxAge: 31536000, includeSubDomains: true } : false,
    // The reset page's address holds a token until it is moved out; no Referer may carry it.
    referrerPolicy: { policy: 'no-referrer' },
  })({} as Request, recorder as unknown as Response, () => (ran = true));
  // A helmet that came to depend on the request (or answered itself) would need running per answer.
  if (!ran || headers.size === 0) throw new Error('helmet did not finish with headers set');
  return (_req, res, next) => {
    res.setHeaders(headers);
    for (const name of removed) res.removeHeader(name);
    next();
  };
}

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

/**
 * Answers to a signed-in browser carry account data (every page's header names the user; /account and
 * /api/users/me show the email), so no cache, shared or the browser's own, may keep them.
 */
export const uncachedWhenSignedIn: RequestHandler = (_req, res, next) => {
  if (currentUser(res)) res.set('Cache-Control', 'no-store');
  next();
};

/** For routes whose answer holds a secret or account data whoever asks (reset pages, login answers). */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

export function currentUser(res: Response): Profile | undefined {
  return res.locals.user as Profile | undefined;
}

/** Pages send visitors to log in and come back; the API answers 401. */
export const requireUser: RequestHandler = requireUserReturningTo((req) => req.originalUrl);

/** As requireUser, coming back to `back` after the login: the address a form posts to may have no page of its own. */
export function requireUserReturningTo(back: (req: Request) => string): RequestHandler {
  return (req, res, next) => {
    if (currentUser(res)) return next();
    if (wantsJson(req)) return jsonError(res, 401, 'not_authenticated', 'Log in first.');
    // Half way through a sign-in (password right, second step not yet): back to the second step.
    const login = req.session.pendingSignIn === undefined ? '/login' : '/login/two-step';
    res.redirect(303, `${login}?next=${encodeURIComponent(back(req))}`);
  };
}

export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
}

/** The session cookie's name. With __Host- (production, where it is also Secure) no subdomain can set or read it. */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-inkwell' : 'inkwell';
}

/**
 * Ends the signed-in session: its row is deleted and the browser told to drop the cookie. A request
 * that has none writes nothing and gets no cookie, so anonymous logouts cannot fill the session table.
 */
export async function logOutSession(req: Request, res: Response): Promise<void> {
  if (req.session.userId === undefined && req.session.pendingSignIn === undefined) return;
  // The cookie is Secure exactly when it is the __Host- one (production): its flags name it.
  const { path, secure, httpOnly, sameSite } = req.session.cookie;
  await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
  res.clearCookie(sessionCookieName(secure === true), { path, secure: secure === true, httpOnly, sameSite });
}

/**
 * Opens a fresh session (new id, so a planted id is worthless) for someone the sign-in pipeline let
 * in (src/accounts/sign-in.ts makes every SignedIn): it records when and how they authenticated.
 */
export async function logInSession(req: Request, signedIn: SignedIn): Promise<void> {
  await regenerateSession(req);
  req.session.authenticatedAt = signedIn.authenticatedAt.getTime();
  req.session.authMethods = signedIn.methods;
  if (signedIn.confirms) req.session.confirmedUntil = signedIn.authenticatedAt.getTime() + CONFIRMATION_MS;
  await openSession(req, signedIn.user);
}

/**
 * The same signed-in person under a fresh session id, after their password changed (which ended every
 * session): how and when they signed in, and any recent confirmation, carry over.
 */
export async function continueSession(req: Request, user: SessionUser): Promise<void> {
  const { authenticatedAt, authMethods, confirmedUntil } = req.session;
  await regenerateSession(req);
  Object.assign(req.session, { authenticatedAt, authMethods, confirmedUntil });
  await openSession(req, user);
}

/** A session waiting for the second step: a fresh id, the pending sign-in's id, and no user. */
export async function pendingSession(req: Request, pendingId: number): Promise<void> {
  await regenerateSession(req);
  req.session.pendingSignIn = pendingId;
  await saveSession(req);
}

async function openSession(req: Request, user: SessionUser): Promise<void> {
  const client = clientOfRequest(req);
  req.session.userId = user.id;
  req.session.credentialVersion = user.credentialVersion;
  req.session.publicId = newPublicSessionId();
  req.session.ip = client.ip;
  req.session.userAgent = client.userAgent;
  await saveSession(req);
}

/** The client as the account system may keep it: the address truncated (as TRUST_PROXY resolves it), the User-Agent. */
export function clientOfRequest(req: Request): Client {
  return clientOf(req.ip, req.get('User-Agent'));
}

export { createLimiters, type Limiters } from './limits.ts';

export const notFound: RequestHandler = (req, res) => showError(req, res, 404, 'not_found', 'There is no page here.');

// What a client is told to wait when the database is unavailable: a restart or failover takes seconds.
const RETRY_AFTER_SECONDS = 10;
const UNAVAILABLE_MESSAGE =
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
 * Client errors keep their status with a plain message. A full argon2 queue and an unavailable
 * database (down, restarting, pool exhausted, disk full) are 503s with Retry-After: the request
 * changed nothing, and the client may simply try again. Anything else is logged and is a 500.
 */
export function handleErrors(log: Logger, report: LimitReport, reportUnavailable = dependencyLog(log)) {
  return (err: Error & { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
    // Nobody is left to answer; the work stopped on purpose.
    if (err instanceof ClientGone) return;
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
    if (err instanceof HashingBusy) {
      report.throttled({ limit: 'hashing_queue', client: req.ip, retryAfterSeconds: err.retryAfterSeconds });
      setRetryAfter(res, err.retryAfterSeconds);
      return showError(req, res, 503, 'busy', 'We are checking too many passwords at once right now. Try again in a few seconds.');
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
