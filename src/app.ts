// buildApp: middleware and routes around the account system, without listening (tests use it directly).
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import nunjucks from 'nunjucks';
import { pinoHttp } from 'pino-http';
import { createAccounts, type Accounts } from './accounts/index.ts';
import { createNotifier } from './accounts/notifier.ts';
import type { Config } from './config.ts';
import type { Orm } from './db/orm.ts';
import { DatabaseSessionStore } from './db/session-store.ts';
import { redactUrl, type Logger } from './log.ts';
import { JobRunner, type RetryPolicy } from './jobs/runner.ts';
import type { Mailer } from './mail/mailer.ts';
import { emailJobs } from './mail/outbox.ts';
import { createMetrics } from './metrics.ts';
import { createEmailLinks } from './web/email-links.ts';
import { measureRequests, serveMetrics } from './web/metrics.ts';
import { createLimiters, handleErrors, loadUser, notFound, refuseCrossSite } from './web/middleware.ts';
import { createResetLinks } from './web/reset-links.ts';
import { createTokenLinks } from './web/token-links.ts';
import { routes } from './web/routes.ts';

// Two weeks of "remember me"; a password change or reset ends them sooner.
export const SESSION_TTL_MS = 14 * 24 * 3600_000;
// Forms are small; anything bigger is refused (413) before it is parsed, let alone hashed.
const BODY_LIMIT = '16kb';

export type AppDeps = {
  config: Config;
  orm: Orm;
  log: Logger;
  mailer: Mailer;
  /** How failed jobs back off (tests shorten it). */
  retry?: RetryPolicy;
  now?: () => Date;
};

/** `jobs` is not started here: main.ts (or a test) starts it and stops it. */
export type App = { app: Express; sessions: DatabaseSessionStore; accounts: Accounts; jobs: JobRunner };

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

export function buildApp({ config, orm, log, mailer, retry, now }: AppDeps): App {
  const production = config.env === 'production';
  const metrics = createMetrics(orm, now);
  const accounts = createAccounts({
    orm,
    resetThrottleSeconds: config.resetThrottleSeconds,
    signupThrottleSeconds: config.signupThrottleSeconds,
    now,
  });
  // Emails are composed when sent, with links from APP_BASE_URL (src/accounts/notifier.ts).
  const notifier = createNotifier({
    links: createEmailLinks(config.appBaseUrl),
    resetTokenTtlMinutes: config.resetTokenTtlMinutes,
    now: now ?? (() => new Date()),
  });
  const jobs = new JobRunner({ orm, log, metrics, retry, now });
  jobs.register(accounts.jobs);
  jobs.register(emailJobs(notifier, mailer));
  const sessions = new DatabaseSessionStore(orm, SESSION_TTL_MS);
  const app = express();

  app.set('trust proxy', config.trustProxy ?? false);
  app.set('view engine', 'njk');
  const views = nunjucks.configure(root('views'), { autoescape: true, express: app, throwOnUndefined: false });
  views.addGlobal('siteName', 'Inkwell');
  views.addGlobal('devMailbox', Boolean(mailer.outbox) && !production);

  app.use(
    pinoHttp({
      logger: log,
      serializers: {
        // Method, path and client only: no headers (cookies, authorization), and no token in the URL.
        req: (req) => ({ id: req.id, method: req.method, url: redactUrl(req.url), remoteAddress: req.remoteAddress }),
        res: (res) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    }),
  );
  app.use(measureRequests(metrics));
  app.use(
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
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await orm.em.getConnection().execute('select 1');
      res.json({ status: 'ready' });
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'database not reachable');
      res.status(503).json({ status: 'database unreachable' });
    }
  });

  // Only with METRICS_TOKEN; without it the route does not exist (404 like any unknown page).
  if (config.metricsToken) app.get('/metrics', serveMetrics(metrics, config.metricsToken));

  app.use('/static', express.static(root('public'), { maxAge: '1h', index: false }));
  app.get('/static/htmx.min.js', (_req, res) => {
    res.sendFile(fileURLToPath(import.meta.resolve('htmx.org/dist/htmx.min.js')), { maxAge: '1h' });
  });

  app.use(express.urlencoded({ extended: false, limit: BODY_LIMIT }));
  app.use(express.json({ limit: BODY_LIMIT }));
  app.use(refuseCrossSite(config.appBaseUrl.origin));
  app.use(
    session({
      // __Host- binds the cookie to this exact origin over HTTPS: no subdomain can set or read it.
      name: production ? '__Host-inkwell' : 'inkwell',
      secret: config.sessionSecret,
      store: sessions,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: production, maxAge: SESSION_TTL_MS, path: '/' },
    }),
  );
  app.use(loadUser(accounts));
  app.use((req, res, next) => {
    res.locals.path = req.path; // the header marks the current page
    next();
  });

  app.use(
    routes({
      accounts,
      jobs,
      resetLinks: createResetLinks(production),
      // Long enough to read the page and press the button; the emailed link itself lives a day.
      confirmLinks: createTokenLinks(production, { path: '/register/confirm', cookie: 'inkwell_signup', cookieMinutes: 30 }),
      limit: createLimiters(config.rateLimits),
      outbox: production ? null : mailer.outbox,
    }),
  );
  app.use(notFound);
  app.use(handleErrors(log));
  return { app, sessions, accounts, jobs };
}
