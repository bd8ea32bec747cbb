// Sign-in links: one answer for every address, a link that a GET never spends, works once, dies when a
// newer one is sent or after 10 minutes, and ends in the one sign-in pipeline (two-step still asks).
import { createHash } from 'node:crypto';
import express from 'express';
import supertest from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AccountToken, Job, User } from '../../src/db/entities.ts';
import { dialects, mailArriving, mailSeen, registeredUser, startHarness, STRONG_PASSWORD, type Harness } from '../support/harness.ts';
import { PATIENCE_MS } from '../support/net.ts';
import { linkIn, tokenOf } from '../support/smtp.ts';
import { codeFor, turnOnTwoStep } from '../two-step/support.ts';

export const SIGN_IN_SUBJECT = 'Your Inkwell sign-in link';

/** Asks for a link over the API and returns the link from the email that actually arrived. */
export async function emailedLink(h: Harness, email: string): Promise<string> {
  const seen = mailSeen(h);
  await h.request().post('/api/auth/email-link').send({ email }).expect(202);
  const mail = await mailArriving(h, seen, (m) => m.to.includes(email) && m.subject === SIGN_IN_SUBJECT);
  return /https?:\/\/\S+\/login\/email\/confirm\?token=[A-Za-z0-9_-]+(&next=\S+)?/.exec(mail.text)![0];
}

describe.each(dialects())('sign-in links on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());
  beforeEach(() => h.tasks.drain(PATIENCE_MS));
  const user = () => registeredUser(h, `link${++n}`);

  it('known and unknown addresses get byte-identical answers, from the API and the page (with and without htmx)', async () => {
    const alice = await user();
    const known = await h.request().post('/api/auth/email-link').send({ email: alice.email });
    const unknown = await h.request().post('/api/auth/email-link').send({ email: 'nobody@example.com' });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(unknown.text).toBe(known.text);
    expect(unknown.headers['content-type']).toBe(known.headers['content-type']);
    expect(unknown.headers['content-length']).toBe(known.headers['content-length']);
    for (const headers of [{}, { 'HX-Request': 'true' }]) {
      const page = await h.request().post('/login/email').set(headers).type('form').send({ email: alice.email });
      const other = await h.request().post('/login/email').set(headers).type('form').send({ email: 'nobody@example.com' });
      expect(page.status).toBe(202);
      expect(other.status).toBe(202);
      expect(other.text).toBe(page.text);
      expect(page.text).toContain('we have sent it a sign-in link');
    }
    const bad = await h.request().post('/api/auth/email-link').send({ email: ['a@example.com', 'b@example.com'] });
    expect(bad.status).toBe(422);
  });

  it('before the answer only the request is recorded (one insert, the same for every address)', async () => {
    const alice = await user();
    await h.tasks.drain(PATIENCE_MS); // the sign-up's own work after its answer
    const outer = express();
    outer.use((_req, res, next) => {
      res.on('finish', () => h.queries.push('-- response finished --'));
      next();
    });
    outer.use(h.app);
    for (const email of [alice.email, 'nobody@example.com']) {
      h.queries.length = 0;
      await supertest(outer).post('/api/auth/email-link').send({ email }).expect(202);
      await h.tasks.drain(PATIENCE_MS);
      const finished = h.queries.indexOf('-- response finished --');
      const before = h.queries.slice(0, finished);
      expect(before, before.join('\n')).toHaveLength(1);
      expect(before[0]).toMatch(/insert into [`"]job[`"]/);
      expect(h.queries.slice(finished + 1).some((sql) => /from [`"]user[`"]/.test(sql))).toBe(true);
    }
  });

  it('opening the link (twice) signs nobody in and spends nothing; the button signs in, once', async () => {
    const alice = await user();
    const link = await emailedLink(h, alice.email);
    const browser = h.request();
    for (let i = 0; i < 2; i++) {
      const opened = await browser.get(new URL(link).pathname + new URL(link).search);
      expect(opened.status).toBe(303);
      expect(opened.headers.location).toBe('/login/email/confirm');
      const page = await browser.get('/login/email/confirm').expect(200);
      expect(page.text).toMatch(/Sign in as l•+@example\.com\?/);
      expect(page.headers['cache-control']).toContain('no-store');
      await browser.get('/api/users/me').expect(401);
    }
    const signedIn = await browser.post('/login/email/confirm').type('form').send({});
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.location).toBe('/account');
    expect((await browser.get('/api/users/me').expect(200)).body.user.email).toBe(alice.email);
    // Used up: neither the page, the button nor the API takes it again.
    const again = h.request();
    await again.get(new URL(link).pathname + new URL(link).search).expect(303);
    expect((await again.get('/login/email/confirm')).status).toBe(400);
    expect((await again.post('/login/email/confirm').type('form').send({})).status).toBe(400);
    expect((await h.request().post('/api/auth/email-link/confirm').send({ token: tokenOf(link) })).status).toBe(400);
  });

  it('the API signs in with the token once; a missing or non-string token is 422, a bad one 400', async () => {
    const alice = await user();
    const token = tokenOf(await emailedLink(h, alice.email));
    const agent = h.request();
    const res = await agent.post('/api/auth/email-link/confirm').send({ token });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ email: alice.email });
    await agent.get('/api/users/me').expect(200);
    await h.tasks.drain(PATIENCE_MS);
    const kinds = (await agent.get('/api/users/me/events').expect(200)).body.events.map((e: { kind: string }) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['sign_in_link_requested', 'sign_in']));
    const twice = await h.request().post('/api/auth/email-link/confirm').send({ token });
    expect(twice.status).toBe(400);
    expect(twice.body.error.code).toBe('invalid_token');
    expect((await h.request().post('/api/auth/email-link/confirm').send({})).status).toBe(422);
    expect((await h.request().post('/api/auth/email-link/confirm').send({ token: [token] })).status).toBe(422);
    expect((await h.request().post('/api/auth/email-link/confirm').send({ token: 'x'.repeat(43) })).status).toBe(400);
  });

  it('two uses of one link at once: exactly one signs in', async () => {
    const alice = await user();
    const token = tokenOf(await emailedLink(h, alice.email));
    const answers = await Promise.all([1, 2].map(() => h.request().post('/api/auth/email-link/confirm').send({ token })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400]);
  });

  it('an older link dies when a newer one is sent', async () => {
    const alice = await user();
    const older = tokenOf(await emailedLink(h, alice.email));
    const newer = tokenOf(await emailedLink(h, alice.email));
    expect((await h.request().post('/api/auth/email-link/confirm').send({ token: older })).status).toBe(400);
    expect((await h.request().post('/api/auth/email-link/confirm').send({ token: newer })).status).toBe(200);
  });

  it('a link expires after 10 minutes', async () => {
    const alice = await user();
    const token = tokenOf(await emailedLink(h, alice.email));
    const tokenHash = createHash('sha256').update(token).digest('hex');
    const row = await h.orm.em.fork().findOneOrFail(AccountToken, { tokenHash });
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(10 * 60_000);
    await h.orm.em.fork().nativeUpdate(AccountToken, { tokenHash }, { expiresAt: new Date(Date.now() - 1000) });
    expect((await h.request().post('/api/auth/email-link/confirm').send({ token })).status).toBe(400);
  });

  it('a two-step account still needs its code after the link', async () => {
    const bob = await user();
    const { secret } = await turnOnTwoStep(bob.agent, bob.password);
    const api = h.request();
    const res = await api.post('/api/auth/email-link/confirm').send({ token: tokenOf(await emailedLink(h, bob.email)) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ second_step: { methods: ['totp', 'recovery_code'] } });
    await api.get('/api/users/me').expect(401);
    await api.post('/api/auth/second-step').send({ code: codeFor(secret, 1) }).expect(200);
    await api.get('/api/users/me').expect(200);

    const link = await emailedLink(h, bob.email);
    const browser = h.request();
    await browser.get(new URL(link).pathname + new URL(link).search).expect(303);
    const pressed = await browser.post('/login/email/confirm').type('form').send({});
    expect(pressed.status).toBe(303);
    expect(pressed.headers.location).toBe('/login/two-step');
    expect((await browser.get('/account')).status).toBe(303);
    await browser.get('/api/users/me').expect(401);
  });

  it('keeps a local next through the email and the page, and drops any other', async () => {
    const carol = await user();
    const login = await h.request().get('/login?next=/posts/new').expect(200);
    expect(login.text).toContain('href="/login/email?next=%2Fposts%2Fnew"');
    const form = await h.request().get('/login/email?next=/posts/new').expect(200);
    expect(form.text).toContain('name="next" value="/posts/new"');
    expect((await h.request().get('/login/email?next=//evil.example').expect(200)).text).not.toContain('evil');
    const seen = mailSeen(h);
    await h.request().post('/login/email').type('form').send({ email: carol.email, next: '/posts/new' }).expect(202);
    const mail = await mailArriving(h, seen, (m) => m.to.includes(carol.email) && m.subject === SIGN_IN_SUBJECT);
    const link = new URL(/https?:\/\/\S+\/login\/email\/confirm\?\S+/.exec(mail.text)![0]);
    expect(link.searchParams.get('next')).toBe('/posts/new');
    const browser = h.request();
    const opened = await browser.get(link.pathname + link.search).expect(303);
    expect(opened.headers.location).toBe('/login/email/confirm?next=%2Fposts%2Fnew');
    const page = await browser.get(opened.headers.location).expect(200);
    expect(page.text).toContain('name="next" value="/posts/new"');
    const pressed = await browser.post('/login/email/confirm').type('form').send({ next: '/posts/new' });
    expect(pressed.headers.location).toBe('/posts/new');

    const seen2 = mailSeen(h);
    await h.request().post('/login/email').type('form').send({ email: carol.email, next: '//evil.example/x' }).expect(202);
    const away = await mailArriving(h, seen2, (m) => m.to.includes(carol.email) && m.subject === SIGN_IN_SUBJECT);
    expect(away.text).not.toContain('evil');
  });

  it('a sign-in link neither confirms a sign-up nor changes a password; a password change kills it', async () => {
    const seen = mailSeen(h);
    await h.request().post('/api/users').send({ username: 'pending1', email: 'pending1@example.com', password: STRONG_PASSWORD }).expect(202);
    await h.request().post('/api/auth/email-link').send({ email: 'pending1@example.com' }).expect(202);
    await h.tasks.drain(PATIENCE_MS);
    const subjects = (h.mailer.mailbox ?? h.sink.messages.slice(seen)).map((m) => m.subject);
    expect(subjects).not.toContain(SIGN_IN_SUBJECT);

    const dave = await user();
    const token = tokenOf(await emailedLink(h, dave.email));
    await dave.agent.patch('/api/users/me/password').send({ current_password: dave.password, new_password: 'another fine passphrase' }).expect(200);
    expect((await h.request().post('/api/auth/email-link/confirm').send({ token })).status).toBe(400);
    await h.request().post('/api/auth/login').send({ email: dave.email, password: 'another fine passphrase' }).expect(200);
  });

  it('the token is in no log line and not in the database in the clear', async () => {
    const erin = await user();
    const link = await emailedLink(h, erin.email);
    const token = tokenOf(link);
    const browser = h.request();
    await browser.get(new URL(link).pathname + new URL(link).search).expect(303);
    await browser.get('/login/email/confirm').expect(200);
    const tokenHash = createHash('sha256').update(token).digest('hex');
    const db = h.orm.em.fork();
    expect(await db.count(AccountToken, { tokenHash })).toBe(1);
    const rows = [...(await db.find(AccountToken, {})), ...(await db.find(Job, {}))];
    expect(JSON.stringify(rows)).not.toContain(token);
    await browser.post('/login/email/confirm').type('form').send({}).expect(303);
    await h.tasks.drain(PATIENCE_MS);
    expect(h.logs.join('\n')).not.toContain(token);
    expect(h.logs.some((l) => l.includes('/login/email/confirm?token=[redacted]'))).toBe(true);
  });
});

describe.each(dialects())('sign-in link limits on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { SIGN_IN_LINK_THROTTLE_SECONDS: '60', RATE_LIMITS: 'on', TRUST_PROXY: '1' } });
  });
  afterAll(() => h.close());

  it('one email per account a minute, silently: the same 202, and none sent', async () => {
    const alice = await registeredUser(h, 'throttled');
    const seen = mailSeen(h);
    for (let i = 0; i < 3; i++) {
      await h.request().post('/api/auth/email-link').set('X-Forwarded-For', '198.51.100.1').send({ email: alice.email }).expect(202);
    }
    await h.tasks.drain(PATIENCE_MS);
    const sent = h.sink.messages.slice(seen).filter((m) => m.subject === SIGN_IN_SUBJECT);
    expect(sent).toHaveLength(1);
    // Once the window has passed (backdated), the next request sends again.
    await h.orm.em.fork().nativeUpdate(User, { email: alice.email }, { signInLinkRequestedAt: new Date(Date.now() - 61_000) });
    await h.request().post('/api/auth/email-link').set('X-Forwarded-For', '198.51.100.1').send({ email: alice.email }).expect(202);
    await mailArriving(h, seen + 1, (m) => m.to.includes(alice.email) && m.subject === SIGN_IN_SUBJECT);
  });

  it('per-IP limits on asking (5 in 15 minutes) and on using links (10 in 15 minutes)', async () => {
    for (let i = 0; i < 5; i++) {
      await h.request().post('/api/auth/email-link').set('X-Forwarded-For', '203.0.113.9').send({ email: `x${i}@example.com` }).expect(202);
    }
    const limited = await h.request().post('/login/email').set('X-Forwarded-For', '203.0.113.9').type('form').send({ email: 'y@example.com' });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    await h.request().post('/api/auth/email-link').set('X-Forwarded-For', '203.0.113.10').send({ email: 'y@example.com' }).expect(202);

    for (let i = 0; i < 10; i++) {
      await h.request().post('/api/auth/email-link/confirm').set('X-Forwarded-For', '203.0.113.11').send({ token: 'a'.repeat(43) }).expect(400);
    }
    expect((await h.request().post('/login/email/confirm').set('X-Forwarded-For', '203.0.113.11').type('form').send({})).status).toBe(429);
  });
});
