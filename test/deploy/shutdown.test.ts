// SIGTERM stops the real process gracefully: no new connections, work in flight finished, exit 0.
import { connect } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PRODUCTION_ENV, client, startApp, type AppProcess } from '../support/app-process.ts';
import { createDatabase, STRONG_PASSWORD, type TestDatabase } from '../support/harness.ts';
import { recipients, resetLinkIn, startSmtpSink, type Sink } from '../support/smtp.ts';
import { until } from '../support/net.ts';
import { signUpThroughEmail } from '../support/sign-up.ts';

describe.skipIf(!inject('postgresUrl'))('graceful stop on SIGTERM (Postgres)', () => {
  let db: TestDatabase;
  let sink: Sink;
  let app: AppProcess;
  beforeAll(async () => {
    db = await createDatabase('postgres');
    // The sink answers each message late, so the email is surely still on its way when SIGTERM lands.
    sink = await startSmtpSink({ replyDelayMs: 300 });
  });
  afterAll(async () => {
    await sink?.stop();
    await db?.drop();
  });

  const start = async () => (app = await startApp({ ...PRODUCTION_ENV, DATABASE_URL: db.url, SMTP_URL: sink.url }));

  // A real process, argon2 and two emails (the sign-up's and the reset's) on a shared machine: minutes, not seconds, at worst.
  it('a reset email requested right before SIGTERM is still sent, then the process exits 0', { timeout: 120_000 }, async () => {
    await start();
    const registered = await signUpThroughEmail(client(app), sink, { username: 'alice', email: 'alice@example.com', password: STRONG_PASSWORD });
    expect(registered.status).toBe(201);

    expect((await client(app).post('/api/users/forgot-password', { email: 'alice@example.com' })).status).toBe(202);
    const signalledAt = Date.now();
    // Checked at the moment the process is gone: the email must have been accepted before it exited.
    let sentBeforeExit = false;
    app.child.once('exit', () => {
      sentBeforeExit = sink.messages.some((m) => recipients(m).includes('alice@example.com') && m.subject === 'Reset your Inkwell password');
    });
    const exit = await app.stop('SIGTERM');
    const took = Date.now() - signalledAt;

    expect(exit, app.output()).toEqual({ code: 0, signal: null });
    expect(sentBeforeExit, app.output()).toBe(true);
    const mail = sink.messages.find((m) => recipients(m).includes('alice@example.com') && m.subject === 'Reset your Inkwell password')!;
    expect(resetLinkIn(mail)).toMatch(/^https:\/\/inkwell\.test\/reset-password\?token=/);
    expect(app.messages()).toContain('stopped');
    expect(app.output()).not.toContain('unfinished');
    console.log(`[deploy] SIGTERM → exit 0 with a reset email in flight: ${took} ms`);
  });

  it('a request in flight when SIGTERM arrives is answered; while draining /readyz is 503 and requests are served; then new connections are refused and it exits 0', { timeout: 120_000 }, async () => {
    // Long enough that the checks below surely land inside the drain on a busy machine.
    app = await startApp({ ...PRODUCTION_ENV, DATABASE_URL: db.url, SMTP_URL: sink.url, DRAIN_SECONDS: '5' });
    const bob = { username: 'bob', email: 'bob@example.com', password: STRONG_PASSWORD };
    expect((await signUpThroughEmail(client(app), sink, bob)).status).toBe(201);

    // Hold the user table so that a login is stuck inside the database, mid-request, for as long as we like.
    const locker = new pg.Client({ connectionString: db.url });
    const watcher = new pg.Client({ connectionString: db.url });
    await Promise.all([locker.connect(), watcher.connect()]);
    try {
      await locker.query('begin');
      await locker.query('lock table "user" in access exclusive mode');
      const login = client(app).post('/api/auth/login', { email: bob.email, password: bob.password });
      // The login's own lookup, found by its query: the job runner or housekeeping may be waiting on
      // the same lock too (counting waiters made this test time out when one was).
      await until(async () => {
        const { rows } = await watcher.query(
          `select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'
              and query like '%password_hash%' and query like '%from "user"%'`,
        );
        return rows[0].n > 0;
      }, "the login's account lookup to wait on the table lock");

      app.child.kill('SIGTERM');
      await until(async () => app.messages().some((m) => m.startsWith('draining')), 'the process to start draining');
      // The proxy's health check is told to stop sending; whatever it still sends is served.
      expect((await client(app).get('/readyz')).status).toBe(503);
      expect((await client(app).get('/healthz')).status).toBe(200);
      await until(async () => app.messages().some((m) => m.startsWith('stopping')), 'the drain to end');
      expect(await connectionAttempt(app.url)).toBe('ECONNREFUSED');

      await locker.query('commit');
      const answered = await login;
      expect(answered.status).toBe(200);
      expect(answered.body.user.email).toBe(bob.email);
      // Or the client would keep its connection, and the process with it, until its idle timeout.
      expect(answered.headers.get('connection')).toBe('close');
      expect(await app.exited, app.output()).toEqual({ code: 0, signal: null });
    } finally {
      await locker.end();
      await watcher.end();
    }
  });
});

/** What a new connection to `url` meets: 'connected', or the error code (ECONNREFUSED once nothing listens). */
function connectionAttempt(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      resolve(`connected from local port ${socket.localPort}`);
      socket.destroy();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}
