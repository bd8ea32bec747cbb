// A whole Inkwell (real database, real SMTP sink, real mailer) built in-process for one test file.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import supertest from 'supertest';
import { inject } from 'vitest';
import { buildApp, type App, type AppDeps } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { migrate, openDatabase, type Orm } from '../../src/db/orm.ts';
import { createLogger } from '../../src/log.ts';
import { DEFAULT_RETRY } from '../../src/jobs/runner.ts';
import { Mailer } from '../../src/mail/mailer.ts';
import { withClient } from './postgres.ts';
import { PATIENCE_MS, until } from './net.ts';
import { CONFIRM_SUBJECT, confirmationLinkIn, recipients, resetLinkIn, startSmtpSink, tokenOf, type Sink } from './smtp.ts';

export type Dialect = 'sqlite' | 'postgres';

/** The dialects this run covers: SQLite always, Postgres when the global setup started a cluster. */
export function dialects(): Dialect[] {
  return inject('postgresUrl') ? ['sqlite', 'postgres'] : ['sqlite'];
}

export type TestDatabase = { url: string; sqliteFile?: string; drop: () => Promise<void> };

/** A fresh, empty database: a temporary SQLite file, or a new database in the test cluster. */
export async function createDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'inkwell-test-'));
    const file = join(dir, 'inkwell.db');
    return { url: `sqlite:${file}`, sqliteFile: file, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const admin = inject('postgresUrl');
  const name = `inkwell_${randomBytes(6).toString('hex')}`;
  await withClient(admin, (c) => c.query(`create database ${name}`));
  const url = admin.replace(/\/[^/]*$/, `/${name}`);
  return { url, drop: () => withClient(admin, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}) };
}

export type Harness = App & {
  config: Config;
  orm: Orm;
  db: TestDatabase;
  sink: Sink;
  /** Waits until no job is due or running (every queued email sent or backing off); returns what was left. */
  tasks: { drain: (timeoutMs?: number) => Promise<number> };
  mailer: Mailer;
  /** Every log line written so far, as raw JSON text. */
  logs: string[];
  /** SQL statements in the order the database received them. */
  queries: string[];
  request: () => supertest.Agent;
  /** The app's origin (APP_BASE_URL): a real loopback address with `listen`, else https://inkwell.test. */
  baseUrl: string;
  close: () => Promise<void>;
};

export type HarnessOptions = {
  env?: Record<string, string>;
  /** Point the mailer at this URL instead of the sink (e.g. a port where nothing listens yet). */
  smtpUrl?: string;
  /** Keep mail in the dev mailbox (/dev/mailbox), as with no SMTP_URL in development. */
  mailbox?: boolean;
  /** Serve on a loopback port and make that origin APP_BASE_URL, so emailed links open in a real browser. */
  listen?: boolean;
  /** With `listen`: APP_BASE_URL names http://localhost:<port> (Chromium refuses 127.0.0.1 as a passkey rpID). */
  localhost?: boolean;
  /**
   * Overrides for buildApp, e.g. an injected clock (`now`), another backoff (`retry`), or production's
   * random wait before a recorded request's work (`workDelay`; the harness starts it once the answer is out).
   */
  app?: Partial<Pick<AppDeps, 'now' | 'retry' | 'workDelay'>>;
  /** Use this database (e.g. one a real process will share) instead of a fresh one. */
  database?: TestDatabase;
};

export async function startHarness(dialect: Dialect, options: HarnessOptions = {}): Promise<Harness> {
  const db = options.database ?? (await createDatabase(dialect));
  const sink = await startSmtpSink();
  // Listening before the app exists: the port has to be known to build APP_BASE_URL.
  const server = options.listen ? await listenOnLoopback() : undefined;
  const baseUrl = server ? `http://${options.localhost ? 'localhost' : '127.0.0.1'}:${(server.address() as AddressInfo).port}` : 'https://inkwell.test';
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    APP_BASE_URL: baseUrl,
    SMTP_URL: options.mailbox ? undefined : (options.smtpUrl ?? sink.url),
    RATE_LIMITS: 'off',
    RESET_THROTTLE_SECONDS: '0',
    SIGNUP_THROTTLE_SECONDS: '0',
    SIGN_IN_LINK_THROTTLE_SECONDS: '0',
    ...options.env,
  });
  const logs: string[] = [];
  const log = createLogger({
    destination: new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  });
  const queries: string[] = [];
  const orm = await openDatabase(db.url, { logQuery: (sql) => queries.push(sql) });
  await migrate(orm, db.url);
  const mailer = new Mailer({ smtpUrl: config.smtpUrl, from: config.mailFrom });
  // The real backoff, from 100 ms instead of 10 s so that a test sees retries; still about a day to give up.
  const built = buildApp({
    config, orm, log, mailer, retry: { ...DEFAULT_RETRY, firstDelayMs: 100, maxDelayMs: 2_000 }, workDelay: () => 0, ...options.app,
  });
  built.jobs.start();
  server?.on('request', built.app);
  return {
    ...built,
    config,
    orm,
    db,
    sink,
    tasks: { drain: (timeoutMs = 10_000) => built.jobs.settle(timeoutMs) },
    mailer,
    logs,
    queries,
    request: () => supertest.agent(built.app),
    baseUrl,
    async close() {
      if (server) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await built.jobs.stop(PATIENCE_MS);
      mailer.close();
      await orm.close();
      await sink.stop();
      await db.drop();
    },
  };
}

function listenOnLoopback(): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

export const STRONG_PASSWORD = 'correct horse battery staple';

/**
 * Signs a user up the way a person does: the sign-up (202), the confirmation email that actually
 * arrived, and its link (201, logged in). Returns the logged-in agent.
 */
export async function registeredUser(h: Harness, name = 'alice', password = STRONG_PASSWORD) {
  const agent = h.request();
  const email = `${name}@example.com`;
  const seen = mailSeen(h);
  const res = await agent.post('/api/users').send({ username: name, email, password });
  if (res.status !== 202) throw new Error(`sign-up failed: ${res.status} ${JSON.stringify(res.body)}`);
  const mail = await mailArriving(h, seen, (m) => m.to.includes(email) && m.subject === CONFIRM_SUBJECT);
  const confirmed = await agent.post('/api/users/confirm').send({ token: tokenOf(confirmationLinkIn(mail)), password });
  if (confirmed.status !== 201) throw new Error(`confirming the sign-up failed: ${confirmed.status} ${JSON.stringify(confirmed.body)}`);
  const cookie = String(confirmed.headers['set-cookie']?.[0] ?? '').split(';')[0];
  return { agent, cookie, email, password, id: confirmed.body.user.id as number };
}

/** An email as the tests read it, from the SMTP sink or, with `mailbox: true`, the dev mailbox. */
export type SentMail = { to: string[]; subject: string; text: string };

/** A mark in the harness's mail so far; `mailArriving` looks only at what came after it. */
export function mailSeen(h: Harness): number {
  return h.mailer.mailbox ? h.mailer.mailbox.length : h.sink.messages.length;
}

/** The first email after `seen` that matches, waiting for it to arrive. */
export async function mailArriving(h: Harness, seen: number, match: (mail: SentMail) => boolean): Promise<SentMail> {
  const mailbox = h.mailer.mailbox;
  if (mailbox) {
    let found: SentMail | undefined;
    await until(() => {
      // The dev mailbox keeps the newest first.
      const later = mailbox.slice(0, mailbox.length - seen).reverse();
      found = later.map((m) => ({ to: [m.to], subject: m.subject, text: m.text })).find(match);
      return found !== undefined;
    }, 'an email in the dev mailbox');
    return found!;
  }
  const mail = await h.sink.waitFor((m) => h.sink.messages.indexOf(m) >= seen && match(sentMail(m)));
  return sentMail(mail);
}

function sentMail(mail: Sink['messages'][number]): SentMail {
  return { to: recipients(mail), subject: mail.subject ?? '', text: mail.text ?? '' };
}

/** Asks for a reset link over HTTP and returns the token from the email that arrived. */
export async function requestResetToken(h: Harness, email: string): Promise<string> {
  const before = h.sink.messages.length;
  await h.request().post('/api/users/forgot-password').send({ email }).expect(202);
  const mail = await h.sink.waitFor((m) => h.sink.messages.indexOf(m) >= before && recipients(m).includes(email));
  return tokenOf(resetLinkIn(mail));
}
