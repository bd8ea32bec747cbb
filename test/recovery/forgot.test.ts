// Forgot password: one answer for every email, the work after the response, mail only to the stored address.
import express from 'express';
import supertest from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { recipients, resetLinkIn } from '../support/smtp.ts';
import { PATIENCE_MS } from '../support/net.ts';

describe.each(dialects())('forgot password on %s', (dialect) => {
  let h: Harness;
  let alice: Awaited<ReturnType<typeof registeredUser>>;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { TRUST_PROXY: '1' } });
    alice = await registeredUser(h, 'alice');
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.tasks.drain(PATIENCE_MS);
    h.sink.messages.length = 0;
  });
  const settle = () => h.tasks.drain(PATIENCE_MS);

  it('known and unknown emails get byte-identical JSON answers', async () => {
    const known = await h.request().post('/api/users/forgot-password').send({ email: alice.email });
    const unknown = await h.request().post('/api/users/forgot-password').send({ email: 'nobody@example.com' });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(unknown.text).toBe(known.text);
    expect(unknown.headers['content-type']).toBe(known.headers['content-type']);
    expect(unknown.headers['content-length']).toBe(known.headers['content-length']);
    await settle();
    expect(h.sink.messages.map(recipients)).toEqual([[alice.email]]);
  });

  it('known and unknown emails get the same page, with and without htmx', async () => {
    for (const headers of [{}, { 'HX-Request': 'true' }]) {
      const known = await h.request().post('/forgot-password').set(headers).type('form').send({ email: alice.email });
      const unknown = await h.request().post('/forgot-password').set(headers).type('form').send({ email: 'nobody@example.com' });
      expect(known.status).toBe(202);
      expect(unknown.status).toBe(202);
      expect(unknown.text).toBe(known.text);
      expect(known.text).toContain('If an account uses that email address');
    }
    const fragment = await h.request().post('/forgot-password').set('HX-Request', 'true').type('form').send({ email: 'x@example.com' });
    expect(fragment.text).not.toContain('<html');
  });

  it('before the response only the request is recorded (one insert, the same for every email)', async () => {
    // An outer app marks the moment the response finished; queries logged before it ran before the answer.
    const outer = express();
    outer.use((_req, res, next) => {
      res.on('finish', () => h.queries.push('-- response finished --'));
      next();
    });
    outer.use(h.app);
    for (const email of [alice.email, 'nobody@example.com']) {
      h.queries.length = 0;
      await supertest(outer).post('/api/users/forgot-password').send({ email }).expect(202);
      await settle();
      const finished = h.queries.indexOf('-- response finished --');
      expect(finished).toBeGreaterThanOrEqual(0);
      const before = h.queries.slice(0, finished);
      expect(before).toHaveLength(1);
      expect(before[0]).toMatch(/insert into [`"]job[`"]/);
      expect(before[0]).not.toContain(email); // the address is a bound parameter, not part of the statement
      // The lookup did happen, after the answer: this test would see it if it moved earlier.
      expect(h.queries.slice(finished + 1).some((sql) => /from [`"]user[`"]/.test(sql))).toBe(true);
    }
  });

  it('only the shape of the field is checked before answering', async () => {
    for (const body of [{}, { email: '' }, { email: 'not an email' }, { email: 42 }]) {
      const res = await h.request().post('/api/users/forgot-password').send(body);
      expect(res.status).toBe(422);
      expect(res.body.error.fields.email).toBeTypeOf('string');
    }
    const page = await h.request().post('/forgot-password').type('form').send({ email: 'nope' });
    expect(page.status).toBe(422);
    expect(page.text).toContain('aria-invalid="true"');
  });

  it('an array or object in the email field never yields a second recipient', async () => {
    const attempts = [
      () => h.request().post('/api/users/forgot-password').send({ email: [alice.email, 'attacker@evil.example'] }),
      () => h.request().post('/api/users/forgot-password').send({ email: { address: alice.email, cc: 'attacker@evil.example' } }),
      () => h.request().post('/forgot-password').type('form').send(`email=${alice.email}&email=attacker@evil.example`),
      () => h.request().post('/forgot-password').type('form').send(`email[]=${alice.email}&email[]=attacker@evil.example`),
      () => h.request().post('/api/users/forgot-password').send({ email: `${alice.email}, attacker@evil.example` }),
    ];
    for (const attempt of attempts) expect((await attempt()).status).toBe(422);
    await settle();
    expect(h.sink.messages).toEqual([]);
  });

  it('CR/LF and control characters never become a header', async () => {
    for (const email of [`${alice.email}\r\nBcc: attacker@evil.example`, `${alice.email}\nCc: x@evil.example`, `ali\u0000ce@example.com`]) {
      expect((await h.request().post('/api/users/forgot-password').send({ email })).status).toBe(422);
    }
    await settle();
    expect(h.sink.messages).toEqual([]);
  });

  it('look-alike Unicode addresses never receive an account\u2019s mail', async () => {
    // Dotless ı, Cyrillic а, the Kelvin sign (which lower-cases to ASCII k), full-width @.
    for (const email of ['alıce@example.com', 'аlice@example.com', '\u212Alice@example.com', 'alice\uFF20example.com']) {
      const res = await h.request().post('/api/users/forgot-password').send({ email });
      expect(res.status).toBe(422);
    }
    await settle();
    expect(h.sink.messages).toEqual([]);
  });

  it('mail goes to the address stored on the account, not the address as typed', async () => {
    await h.request().post('/api/users/forgot-password').send({ email: '  ALICE@Example.COM ' }).expect(202);
    const mail = await h.sink.waitFor(() => true);
    expect(recipients(mail)).toEqual(['alice@example.com']);
    expect(mail.headers.get('cc')).toBeUndefined();
    expect(mail.headers.get('bcc')).toBeUndefined();
  });

  it('Host and X-Forwarded-Host never reach a link', async () => {
    await h
      .request()
      .post('/api/users/forgot-password')
      .set('Host', 'evil.example')
      .set('X-Forwarded-Host', 'evil.example')
      .set('X-Forwarded-Proto', 'http')
      .send({ email: alice.email })
      .expect(202);
    const mail = await h.sink.waitFor(() => true);
    expect(resetLinkIn(mail).startsWith('https://inkwell.test/reset-password?token=')).toBe(true);
    expect(`${mail.text}${mail.html}`).not.toContain('evil.example');
  });
});

describe.each(dialects())('reset email throttle on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { RESET_THROTTLE_SECONDS: '60' } });
  });
  afterAll(() => h.close());

  it('sends at most one email per account in the window, silently', async () => {
    const bob = await registeredUser(h, 'bob');
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => h.request().post('/api/users/forgot-password').send({ email: bob.email })),
    );
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    await h.tasks.drain(PATIENCE_MS);
    expect(h.sink.messages.filter((m) => recipients(m).includes(bob.email) && m.subject === 'Reset your Inkwell password')).toHaveLength(1);
  });
});
