// Moving from SQLite to Postgres with `npm run db:copy`: accounts, live links, sessions and pending sign-ups survive the move.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PasswordResetToken, Session, Signup, User } from '../../src/db/entities.ts';
import { migrate, openDatabase } from '../../src/db/orm.ts';
import { client, startApp } from '../support/app-process.ts';
import { createDatabase, mailArriving, mailSeen, registeredUser, startHarness, STRONG_PASSWORD, type Harness, type TestDatabase } from '../support/harness.ts';
import { signUpThroughEmail } from '../support/sign-up.ts';
import { CONFIRM_SUBJECT, confirmationLinkIn, recipients, resetLinkIn, tokenOf } from '../support/smtp.ts';
import { PATIENCE_MS } from '../support/net.ts';

const COPY = fileURLToPath(new URL('../../src/db/copy.ts', import.meta.url));

describe.skipIf(!inject('postgresUrl'))('db:copy from SQLite to Postgres', () => {
  let h: Harness;
  const targets: TestDatabase[] = [];
  const target = async () => {
    const db = await createDatabase('postgres');
    targets.push(db);
    return db;
  };
  let alice: { cookie: string; createdAt: string; token: string };
  let postId: number;
  let doraToken: string;

  beforeAll(async () => {
    // The SQLite database as the app leaves it: alice logged in with a live reset link,
    // bob whose session and link have expired, dora with a sign-up waiting for its link, eve with an expired one.
    h = await startHarness('sqlite');
    const register = async (name: string) => {
      const user = await registeredUser(h, name);
      const me = await user.agent.get('/api/users/me').expect(200);
      return { id: user.id, cookie: user.cookie, createdAt: me.body.user.created_at as string };
    };
    const pendingSignUp = async (name: string) => {
      const seen = mailSeen(h);
      await h.request().post('/api/users').send({ username: name, email: `${name}@example.com`, password: STRONG_PASSWORD }).expect(202);
      const mail = await mailArriving(h, seen, (m) => m.to.includes(`${name}@example.com`) && m.subject === CONFIRM_SUBJECT);
      return tokenOf(confirmationLinkIn(mail));
    };
    doraToken = await pendingSignUp('dora');
    await pendingSignUp('eve');
    const a = await register('alice');
    const bob = await register('bob');
    for (const email of ['alice@example.com', 'bob@example.com']) {
      await h.request().post('/api/users/forgot-password').send({ email }).expect(202);
    }
    const post = await h.request().post('/api/posts').set('Cookie', a.cookie).send({ title: 'Moved with me', body: 'A *post*.' }).expect(201);
    postId = post.body.post.id;
    const reset = (to: string) => h.sink.waitFor((m) => recipients(m).includes(to) && m.subject === 'Reset your Inkwell password');
    const mail = await reset('alice@example.com');
    await reset('bob@example.com');
    await h.tasks.drain(PATIENCE_MS);
    const past = new Date(Date.now() - 60_000);
    await h.orm.em.fork().nativeUpdate(PasswordResetToken, { user: bob.id }, { expiresAt: past });
    await h.orm.em.fork().nativeUpdate(Session, { user: bob.id }, { expiresAt: past });
    await h.orm.em.fork().nativeUpdate(Signup, { username: 'eve' }, { expiresAt: past });
    alice = { cookie: a.cookie, createdAt: a.createdAt, token: tokenOf(resetLinkIn(mail)) };
    // Stopped, as docs/deploying.md says, before copying.
    await h.jobs.stop(5_000);
    h.mailer.close();
    await h.orm.close();
  });
  afterAll(async () => {
    await h?.sink.stop();
    await h?.db.drop();
    for (const db of targets) await db.drop();
  });

  it('copies users, live links, live sessions and pending sign-ups; on Postgres the old password, session and links still work', { timeout: 120_000 }, async () => {
    const pg = await target();
    const copy = await runCopy(h.db.url, pg.url);
    expect(copy.code, copy.stderr).toBe(0);
    expect(copy.stdout).toContain('user: 2 copied\n');
    expect(copy.stdout).toContain('password_reset_token: 1 copied (1 expired left behind)\n');
    expect(copy.stdout).toContain('session: 1 copied (1 expired left behind)\n');
    expect(copy.stdout).toContain('post: 1 copied\n');
    expect(copy.stdout).toContain('signup: 1 copied (1 expired left behind)\n');

    const app = await startApp({
      NODE_ENV: 'test',
      DATABASE_URL: pg.url,
      APP_BASE_URL: h.config.appBaseUrl.origin,
      // Same secret as before the move, or every session cookie would be refused.
      SESSION_SECRET: h.config.sessionSecret,
      SMTP_URL: h.sink.url,
      RATE_LIMITS: 'off',
    });
    const aliceBrowser = client(app, alice.cookie);
    expect((await client(app).get(`/api/posts/${postId}`)).body.post).toMatchObject({ title: 'Moved with me', author: { username: 'alice' } });
    // The search index came along (Postgres computes it from the copied rows).
    expect((await client(app).get('/api/posts?q=moved')).body.posts.map((p: { id: number }) => p.id)).toEqual([postId]);
    const next = await aliceBrowser.post('/api/posts', { title: 'After the move', body: 'x' });
    expect(next.status).toBe(201);
    expect(next.body.post.id).toBe(postId + 1);
    const me = await aliceBrowser.get('/api/users/me');
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ username: 'alice', created_at: alice.createdAt });
    for (const email of ['alice@example.com', 'bob@example.com']) {
      expect((await client(app).post('/api/auth/login', { email, password: STRONG_PASSWORD })).status).toBe(200);
    }
    // Sequences were moved past the copied ids: a new account gets the next id instead of colliding.
    // A sign-up emailed before the move is confirmed after it.
    const dora = await client(app).post('/api/users/confirm', { token: doraToken, password: STRONG_PASSWORD });
    expect(dora.status).toBe(201);
    expect(dora.body.user.id).toBe(3);
    const carol = await signUpThroughEmail(client(app), h.sink, { username: 'carol', email: 'carol@example.com', password: STRONG_PASSWORD });
    expect(carol.status).toBe(201);
    expect(carol.body.user.id).toBe(4);

    // The link emailed before the move still works, once, and ends alice's old session.
    const reset = await client(app).post('/api/users/reset-password', { token: alice.token, new_password: 'moved to postgres at last' });
    expect(reset.status).toBe(200);
    expect((await aliceBrowser.get('/api/users/me')).status).toBe(401);
    expect((await client(app).post('/api/auth/login', { email: 'alice@example.com', password: 'moved to postgres at last' })).status).toBe(200);
    expect(await app.stop()).toEqual({ code: 0, signal: null });
  });

  it('refuses, changing nothing, when the target already holds data', async () => {
    const pg = await target();
    const orm = await openDatabase(pg.url);
    try {
      await migrate(orm, pg.url);
      const at = new Date();
      await orm.em.fork().insert(User, {
        username: 'someone', email: 'someone@example.com', passwordHash: 'x', credentialVersion: 1, createdAt: at, updatedAt: at,
      });
      const copy = await runCopy(h.db.url, pg.url);
      expect(copy.code).toBe(1);
      expect(copy.stderr.trimEnd().split('\n')).toEqual([
        `db:copy refused: ${pg.url} already holds data (user: 1 rows); db:copy only fills a new, empty database`,
      ]);
      expect(copy.stdout).toBe('');
      expect(await orm.em.fork().count(User, {})).toBe(1);
      expect(await orm.em.fork().count(Session, {})).toBe(0);
    } finally {
      await orm.close();
    }
  });
});

function runCopy(from: string, to: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [COPY, from, to], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}
