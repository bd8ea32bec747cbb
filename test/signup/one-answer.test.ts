// Sign-up tells nobody who has an account: one answer for a new, a taken and a pending address,
// the account-dependent work after the response, and mail only as the address's owner should get it.
import express from 'express';
import supertest from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Signup, SignupThrottle, User } from '../../src/db/entities.ts';
import { dialects, registeredUser, startHarness, STRONG_PASSWORD, type Harness } from '../support/harness.ts';
import { ACCOUNT_EXISTS_SUBJECT, CONFIRM_SUBJECT, confirmationLinkIn, recipients } from '../support/smtp.ts';

describe.each(dialects())('one sign-up answer for every address on %s', (dialect) => {
  let h: Harness;
  let alice: Awaited<ReturnType<typeof registeredUser>>;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
    alice = await registeredUser(h, 'alice');
    // An address with a sign-up still waiting for its link to be used.
    await h.request().post('/api/users').send({ username: 'pending', email: 'pending@example.com', password: STRONG_PASSWORD }).expect(202);
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.tasks.drain(5_000);
    h.sink.messages.length = 0;
  });
  const settle = () => h.tasks.drain(5_000);
  const fresh = () => `newcomer${++n}`;
  const ADDRESSES = { new: () => `${fresh()}@example.com`, taken: () => alice.email, pending: () => 'pending@example.com' };

  it('new, taken and pending addresses get byte-identical JSON answers', async () => {
    const answers = [];
    for (const email of Object.values(ADDRESSES)) {
      answers.push(await h.request().post('/api/users').send({ username: fresh(), email: email(), password: STRONG_PASSWORD }));
    }
    for (const answer of answers) {
      expect(answer.status).toBe(202);
      expect(answer.text).toBe(answers[0].text);
      expect(answer.headers['content-type']).toBe(answers[0].headers['content-type']);
      expect(answer.headers['content-length']).toBe(answers[0].headers['content-length']);
      expect(answer.headers['set-cookie']).toBeUndefined();
    }
    expect(JSON.parse(answers[0].text)).toEqual({ message: 'Check your inbox to finish creating your account.' });
  });

  it('new, taken and pending addresses get the same page, with and without htmx', async () => {
    for (const headers of [{}, { 'HX-Request': 'true' }]) {
      const pages = [];
      for (const email of Object.values(ADDRESSES)) {
        pages.push(await h.request().post('/register').set(headers).type('form').send({ username: fresh(), email: email(), password: STRONG_PASSWORD }));
      }
      for (const page of pages) {
        expect(page.status).toBe(202);
        expect(page.text).toBe(pages[0].text);
      }
      expect(pages[0].text).toContain('Check your inbox to finish creating your account.');
      expect(pages[0].text.includes('<html')).toBe(Object.keys(headers).length === 0);
    }
  });

  it('no account-dependent database work happens before the response is sent', async () => {
    // An outer app marks the moment the response finished; queries logged before it ran before the answer.
    const outer = express();
    outer.use((_req, res, next) => {
      res.on('finish', () => h.queries.push('-- response finished --'));
      next();
    });
    outer.use(h.app);
    const before: string[][] = [];
    for (const email of [ADDRESSES.new(), ADDRESSES.taken(), ADDRESSES.pending()]) {
      h.queries.length = 0;
      await supertest(outer).post('/api/users').send({ username: fresh(), email, password: STRONG_PASSWORD }).expect(202);
      await settle();
      const finished = h.queries.indexOf('-- response finished --');
      expect(finished).toBeGreaterThan(0);
      // The job runner's own sweep (every few seconds) may look for due jobs meanwhile; nothing is due.
      const answered = h.queries.slice(0, finished).filter((sql) => !/^(update|select|delete)\b.*\bjob\b/is.test(sql.replace(/^\[query\]\s*/, '')));
      // Before the answer: the username check and the one insert recording the request; the address is only written.
      expect(answered.some((sql) => /from [`"]user[`"].*email/s.test(sql))).toBe(false);
      expect(answered.some((sql) => /[`"]signup[`"]/.test(sql))).toBe(false);
      expect(answered.at(-1)).toMatch(/insert into [`"]job[`"]/);
      expect(answered.join('\n')).not.toContain(email);
      before.push(answered.map(shapeOf));
      // The lookup did happen, after the answer: this test would see it if it moved earlier.
      expect(h.queries.slice(finished + 1).some((sql) => /from [`"]user[`"].*email/s.test(sql))).toBe(true);
    }
    expect(before[1]).toEqual(before[0]);
    expect(before[2]).toEqual(before[0]);
    expect(before[0]).toHaveLength(2);
  });

  it('the owner of a taken address gets a note with no confirmation link, and the account is untouched', async () => {
    const em = h.orm.em.fork();
    const row = await em.findOneOrFail(User, { email: alice.email });
    const was = { hash: row.passwordHash, version: row.credentialVersion, username: row.username, updated: row.updatedAt.getTime() };
    const hostile = 'the attacker picked this one';
    await h.request().post('/api/users').send({ username: 'mallory', email: alice.email, password: hostile }).expect(202);
    await settle();

    expect(h.sink.messages.map((m) => [recipients(m), m.subject])).toEqual([[[alice.email], ACCOUNT_EXISTS_SUBJECT]]);
    const note = h.sink.messages[0];
    expect(note.text).toContain('https://inkwell.test/login');
    expect(note.text).toContain('https://inkwell.test/forgot-password');
    expect(`${note.text}${note.html}`).not.toMatch(/register\/confirm|token=/);
    expect(note.text).toContain('Hello alice');

    await h.request().post('/api/auth/login').send({ email: alice.email, password: hostile }).expect(401);
    await h.request().post('/api/auth/login').send({ email: alice.email, password: alice.password }).expect(200);
    const after = await h.orm.em.fork().findOneOrFail(User, { email: alice.email });
    expect({ hash: after.passwordHash, version: after.credentialVersion, username: after.username, updated: after.updatedAt.getTime() }).toEqual(was);
    expect(await h.orm.em.fork().count(User, { username: 'mallory' })).toBe(0);
    // Nothing of the attempt is kept, not even its password hash.
    expect(await h.orm.em.fork().count(Signup, { email: alice.email })).toBe(0);
    await alice.agent.get('/api/users/me').expect(200);
  });

  it('a new address gets a confirmation link built from APP_BASE_URL, whatever the Host header says', async () => {
    const email = ADDRESSES.new();
    await h
      .request()
      .post('/api/users')
      .set('Host', 'evil.example')
      .set('X-Forwarded-Host', 'evil.example')
      .send({ username: fresh(), email, password: STRONG_PASSWORD })
      .expect(202);
    const mail = await h.sink.waitFor((m) => recipients(m).includes(email));
    expect(mail.subject).toBe(CONFIRM_SUBJECT);
    expect(confirmationLinkIn(mail)).toMatch(/^https:\/\/inkwell\.test\/register\/confirm\?token=[A-Za-z0-9_-]{43}$/);
    expect(`${mail.text}${mail.html}`).not.toContain('evil.example');
    expect(mail.text).toContain('24 hours');
  });

  it('username rules and the password policy are checked before answering; a taken username is said at once', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ username: 'x', email: ADDRESSES.new(), password: STRONG_PASSWORD }, 'username'],
      [{ username: fresh(), email: ADDRESSES.new(), password: 'password123' }, 'password'],
      [{ username: fresh(), email: ADDRESSES.new(), password: 'short' }, 'password'],
      [{ username: fresh(), email: 'not an email', password: STRONG_PASSWORD }, 'email'],
      [{ username: 'alice', email: ADDRESSES.new(), password: STRONG_PASSWORD }, 'username'],
      [{ username: 'ALICE', email: ADDRESSES.taken(), password: STRONG_PASSWORD }, 'username'],
    ];
    const rows = await h.orm.em.fork().count(Signup, {});
    for (const [body, field] of cases) {
      const res = await h.request().post('/api/users').send(body);
      expect(res.status).toBe(422);
      expect(Object.keys(res.body.error.fields)).toEqual([field]);
    }
    const taken = await h.request().post('/register').type('form').send({ username: 'alice', email: ADDRESSES.new(), password: STRONG_PASSWORD });
    expect(taken.status).toBe(422);
    expect(taken.text).toContain('This username is taken.');
    await settle();
    expect(h.sink.messages).toEqual([]);
    expect(await h.orm.em.fork().count(Signup, {})).toBe(rows);
  });

  it('an array or object in the email field never yields a second recipient', async () => {
    const body = (email: unknown) => ({ username: fresh(), email, password: STRONG_PASSWORD });
    const attempts = [
      () => h.request().post('/api/users').send(body([alice.email, 'attacker@evil.example'])),
      () => h.request().post('/api/users').send(body({ address: alice.email, cc: 'attacker@evil.example' })),
      () => h.request().post('/register').type('form').send(`username=${fresh()}&password=${encodeURIComponent(STRONG_PASSWORD)}&email=${alice.email}&email=attacker@evil.example`),
      () => h.request().post('/register').type('form').send(`username=${fresh()}&password=${encodeURIComponent(STRONG_PASSWORD)}&email[]=${alice.email}&email[]=attacker@evil.example`),
      () => h.request().post('/api/users').send(body(`${alice.email}, attacker@evil.example`)),
    ];
    for (const attempt of attempts) expect((await attempt()).status).toBe(422);
    await settle();
    expect(h.sink.messages).toEqual([]);
  });

  it('CR/LF and control characters never become a header', async () => {
    for (const email of [`${alice.email}\r\nBcc: attacker@evil.example`, `x@example.com\nCc: x@evil.example`, `ne\u0000w@example.com`]) {
      expect((await h.request().post('/api/users').send({ username: fresh(), email, password: STRONG_PASSWORD })).status).toBe(422);
    }
    await settle();
    expect(h.sink.messages).toEqual([]);
  });

  it('look-alike Unicode addresses are refused, so they never reach an account\u2019s mail', async () => {
    // Dotless ı, Cyrillic а, the Kelvin sign (which lower-cases to ASCII k), full-width @.
    for (const email of ['alıce@example.com', 'аlice@example.com', '\u212Alice@example.com', 'alice\uFF20example.com']) {
      const res = await h.request().post('/api/users').send({ username: fresh(), email, password: STRONG_PASSWORD });
      expect(res.status).toBe(422);
    }
    await settle();
    expect(h.sink.messages).toEqual([]);
  });

  it('mail goes to the address trimmed and lower-cased, and a taken address is recognised whatever its case', async () => {
    await h.request().post('/api/users').send({ username: fresh(), email: '  ALICE@Example.COM ', password: STRONG_PASSWORD }).expect(202);
    const mail = await h.sink.waitFor(() => true);
    expect(recipients(mail)).toEqual(['alice@example.com']);
    expect(mail.subject).toBe(ACCOUNT_EXISTS_SUBJECT);
    expect(mail.headers.get('cc')).toBeUndefined();
    expect(mail.headers.get('bcc')).toBeUndefined();
  });
});

describe.each(dialects())('sign-up email throttle on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { SIGNUP_THROTTLE_SECONDS: '60' } });
  });
  afterAll(() => h.close());

  it('sends at most one email per address in the window, silently, for new and taken addresses alike', async () => {
    const bob = await registeredUser(h, 'bob');
    // Bob's own sign-up took his address's window; let it run out, as if a minute had passed.
    await h.orm.em.fork().nativeUpdate(SignupThrottle, { email: bob.email }, { expiresAt: new Date(Date.now() - 1) });
    for (const email of ['carol@example.com', bob.email]) {
      const answers = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          h.request().post('/api/users').send({ username: `${email.split('@')[0]}x${i}`, email, password: STRONG_PASSWORD }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
      expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    }
    await h.tasks.drain(5_000);
    const to = (email: string, subject: string) => h.sink.messages.filter((m) => recipients(m).includes(email) && m.subject === subject);
    expect(to('carol@example.com', CONFIRM_SUBJECT)).toHaveLength(1);
    expect(to(bob.email, ACCOUNT_EXISTS_SUBJECT)).toHaveLength(1);
    // The throttled requests left nothing behind: one live sign-up for carol, none for bob.
    expect(await h.orm.em.fork().count(Signup, { email: 'carol@example.com' })).toBe(1);
    expect(await h.orm.em.fork().count(Signup, { email: bob.email })).toBe(0);
  });
});

/** A statement's shape: the values it carried and its duration taken out. */
function shapeOf(sql: string): string {
  return sql.replace(/\[took [^\]]*\]/g, '').replace(/'[^']*'/g, '?').replace(/\b\d+\b/g, '?').trim();
}
