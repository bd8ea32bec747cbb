// buildApp: middleware and routes around the account system, without listening (tests use it directly).
import { fileURLToPath } from 'node:url';
import express, { type Express, type RequestHandler } from 'express';
import session from 'express-session';
import nunjucks from 'nunjucks';
import { createAccounts, type Accounts } from './accounts/index.ts';
import { createNotifier, EMAILS_WITH_ADDRESSES } from './accounts/notifier.ts';
import type { WorkDelay } from './accounts/requests.ts';
import type { Config } from './config.ts';
import type { Orm } from './db/orm.ts';
import { DatabaseSessionStore, SESSION_TTL_MS } from './db/session-store.ts';
import type { Logger } from './log.ts';
import { JobRunner, type RetryPolicy } from './jobs/runner.ts';
import type { Mailer } from './mail/mailer.ts';
import {
  createLimiters, currentUser, dependencyLog, handleErrors, loadUser, notFound, refuseCrossSite, securityHeaders, sessionCookieName,
  uncachedWhenSignedIn,
} from './web/middleware.ts';
import { emailJobs } from './mail/outbox.ts';
import { createMetrics, unreadCounters } from './metrics.ts';
import { AfterAnswer } from './web/after-answer.ts';
import { createEmailLinks } from './web/accounts/email-links.ts';
import { measureRequests, serveMetrics } from './web/metrics.ts';
import { createLoginThrottle } from './limits/login-throttle.ts';
import { deleteExpiredHits } from './limits/rate-limit-store.ts';
import { createLimitReport } from './limits/report.ts';
import { createPosts } from './posts/index.ts';
import { createPictures } from './pictures/index.ts';
import { pictureUrl, servePicture } from './web/pictures/media.ts';
import { PageCache, StaticPages, serveCachedPages } from './web/page-cache.ts';
import { absoluteFrom, postPath } from './web/posts/links.ts';
import { xmlText } from './web/posts/feeds.ts';
import { createLinkCookies } from './web/token-links.ts';
import { logRequests } from './web/request-log.ts';
import { routes } from './web/routes.ts';
import { exactTime, timeAgo } from './web/time.ts';

// Forms are small; anything bigger is refused (413) before it is parsed, let alone hashed.
const BODY_LIMIT = '16kb';
// /readyz answers within this, whatever the database does: a stuck pool is "not ready", not a hang.
const READY_DEADLINE_MS = 2_000;
// Except a post: 100,000 characters, which percent-encoding can triple and UTF-8 can quadruple.
const POST_BODY_LIMIT = '1.5mb';
const POST_WRITES = /^\/(api\/)?posts(\/|$)/;

export type AppDeps = {
  config: Config;
  orm: Orm;
  log: Logger;
  mailer: Mailer;
  /** How failed jobs back off (tests shorten it). */
  retry?: RetryPolicy;
  /** How long a recorded request waits for its account-dependent work (src/accounts/requests.ts; tests use 0). */
  workDelay?: WorkDelay;
  now?: () => Date;
};

/** `jobs` is not started here: main.ts (or a test) starts it and stops it. */
export type App = {
  app: Express;
  sessions: DatabaseSessionStore;
  accounts: Accounts;
  jobs: JobRunner;
  /** Housekeeping for the limits' tables: counters and throttles that count nothing any more. */
  limits: { pruneExpired: () => Promise<number> };
  /** Deletes every row that has outlived its use; main.ts runs it every 15 minutes. */
  housekeeping: () => Promise<void>;
};

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

export function buildApp({ config, orm, log, mailer, retry, workDelay, now: clock }: AppDeps): App {
  const production = config.env === 'production';
  const now = clock ?? (() => new Date());
  // Metrics cost time on every request (and prom-client a start): only collected when someone can read them.
  const metrics = config.metricsToken ? createMetrics(orm, now) : undefined;
  const counters = metrics ?? unreadCounters;
  const report = createLimitReport(log, (limit) => counters.throttled.inc({ limit }));
  const loginThrottle = createLoginThrottle({ orm, report, enabled: config.rateLimits, now });
  const accounts = createAccounts({
    orm,
    resetThrottleSeconds: config.resetThrottleSeconds,
    signupThrottleSeconds: config.signupThrottleSeconds,
    signInLinkThrottleSeconds: config.signInLinkThrottleSeconds,
    loginThrottle,
    mfaKeys: config.mfaKeys,
    workDelay,
    relyingParty: { id: config.appBaseUrl.hostname, origin: config.appBaseUrl.origin, name: 'Inkwell' },
    now,
  });
  // Emails are composed when sent, with links from APP_BASE_URL (src/accounts/notifier.ts).
  const notifier = createNotifier({
    links: createEmailLinks(config.appBaseUrl),
    resetTokenTtlMinutes: config.resetTokenTtlMinutes,
    now,
  });
  const jobs = new JobRunner({ orm, log, metrics: counters, retry, now });
  jobs.register(accounts.jobs);
  jobs.register(emailJobs(notifier, mailer, EMAILS_WITH_ADDRESSES));
  const sessions = new DatabaseSessionStore(orm, now);
  const later = new AfterAnswer(jobs);
  // On the app's clock: a cached page expires when a scheduled post becomes public on that clock.
  const pageCache = new PageCache(() => now().getTime());
  const staticPages = new StaticPages(sessionCookieName(production));
  // Every change to a post empties the cache of anonymous pages at once.
  const posts = createPosts({ orm, now, onChange: () => pageCache.clear() });
  const pictures = createPictures({ orm, now });
  const app = express();

  app.set('trust proxy', config.trustProxy ?? false);
  app.set('view engine', 'njk');
  const views = nunjucks.configure(root('views'), { autoescape: true, express: app, throwOnUndefined: false });
  views.addGlobal('siteName', 'Inkwell');
  views.addGlobal('devMailbox', Boolean(mailer.mailbox) && !production);
  views.addFilter('ago', (date: Date) => timeAgo(date, now()));
  views.addFilter('exactTime', exactTime);
  views.addGlobal('pictureUrl', pictureUrl);
  const absolute = absoluteFrom(config.appBaseUrl);
  views.addGlobal('absolute', absolute);
  views.addGlobal('postPath', postPath);
  views.addFilter('xml', xmlText);

  // Who asked, by id only (never the email or the session id); the client is req.ip as TRUST_PROXY
  // resolves it (behind a proxy the socket is the proxy's). No headers: cookies and authorization stay out.
  app.use(logRequests(log, (req) => req.url === '/healthz' || req.url === '/readyz'));
  if (metrics) app.use(measureRequests(metrics));
  app.use(securityHeaders(production));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const reportUnavailable = dependencyLog(log);
  app.get('/readyz', async (_req, res) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${READY_DEADLINE_MS} ms`)), READY_DEADLINE_MS);
    });
    try {
      await Promise.race([orm.em.getConnection().execute('select 1'), late]);
      res.json({ status: 'ready' });
    } catch (err) {
      reportUnavailable('database', err);
      res.status(503).json({ status: 'database unreachable' });
    } finally {
      clearTimeout(timer);
    }
  });

  // Only with METRICS_TOKEN; without it the route does not exist (404 like any unknown page).
  if (metrics && config.metricsToken) app.get('/metrics', serveMetrics(metrics, config.metricsToken));

  app.use('/static', express.static(root('public'), { maxAge: '1h', index: false }));
  app.get('/static/htmx.min.js', (_req, res) => {
    res.sendFile(fileURLToPath(import.meta.resolve('htmx.org/dist/htmx.min.js')), { maxAge: '1h' });
  });
  // The passkey ceremonies' browser side (public/js/passkeys.js uses its global SimpleWebAuthnBrowser).
  app.get('/static/simplewebauthn-browser.js', (_req, res) => {
    res.sendFile(fileURLToPath(new URL('../dist/bundle/index.umd.min.js', import.meta.resolve('@simplewebauthn/browser'))), { maxAge: '1h' });
  });

  // Public and immutable, so before the session: a signed-in reader's copy may be cached like anyone's.
  app.get('/media/:file', servePicture(pictures));

  // Readers without a session cookie get the feed, posts and author pages from here: no body
  // parsing, no session, no rendering (GET only, so nothing here changes state).
  app.use(serveCachedPages(pageCache, sessionCookieName(production)));
  // And the log-in, sign-up and forgot-password forms and the API reference, the same for them all.
  app.use(staticPages.serve);
  // Post writes are parsed further down, once the writer is known; every other body here, small.
  const exceptPostWrites = (parse: RequestHandler): RequestHandler => (req, res, next) =>
    POST_WRITES.test(req.path) ? next() : parse(req, res, next);
  app.use(exceptPostWrites(express.urlencoded({ extended: false, limit: BODY_LIMIT })));
  app.use(exceptPostWrites(express.json({ limit: BODY_LIMIT })));
  app.use(refuseCrossSite(config.appBaseUrl.origin));
  app.use(
    session({
      name: sessionCookieName(production),
      secret: config.sessionSecret,
      store: sessions,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: production, maxAge: SESSION_TTL_MS, path: '/' },
    }),
  );
  app.use(loadUser(accounts));
  // Up to 1.5 MB, so only for a signed-in writer: an anonymous request is refused (401, or sent to
  // log in) without its body ever being read.
  const signedIn = (parse: RequestHandler): RequestHandler => (req, res, next) =>
    POST_WRITES.test(req.path) && currentUser(res) ? parse(req, res, next) : next();
  app.use(signedIn(express.urlencoded({ extended: false, limit: POST_BODY_LIMIT })), signedIn(express.json({ limit: POST_BODY_LIMIT })));
  app.use(uncachedWhenSignedIn);
  app.use((req, res, next) => {
    res.locals.path = req.path; // the header marks the current page
    next();
  });

  app.use(
    routes({
      accounts,
      later,
      links: createLinkCookies(production),
      limit: createLimiters({ enabled: config.rateLimits, orm, report }),
      mailbox: production ? null : mailer.mailbox,
      posts,
      pictures,
      pageCache,
      absolute,
      staticPages,
      log,
    }),
  );
  app.use(notFound);
  app.use(handleErrors(log, report, reportUnavailable));
  const limits = {
    pruneExpired: async () => (await deleteExpiredHits(orm, now())) + (await loginThrottle.deleteExpired()),
  };
  const housekeeping = async () => {
    await Promise.all([
      sessions.pruneExpired(), accounts.deleteExpiredResetTokens(), accounts.deleteExpiredAccountTokens(),
      accounts.deleteExpiredSignups(), accounts.deleteExpiredPendingSignIns(), accounts.deleteExpiredPasskeyChallenges(), accounts.advanceTwoStepRemovals(), accounts.pruneOldActivity(), limits.pruneExpired(), jobs.deleteOld(),
      // Posts an older renderer made (after an upgrade), a batch at a time; a read renders any left first.
      posts.renderStale(),
      pictures.sweepUnreferenced(),
    ]);
  };
  return { app, sessions, accounts, jobs, limits, housekeeping };
}
