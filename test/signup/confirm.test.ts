// Confirming a sign-up: the emailed link creates the account and logs the browser in, once;
// before that the address has no account at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Signup, User } from '../../src/db/entities.ts';
import { dialects, mailArriving, mailSeen, registeredUser, startHarness, STRONG_PASSWORD, type Harness } from '../support/harness.ts';
import { CONFIRM_SUBJECT, confirmationLinkIn, recipients, tokenOf } from '../support/smtp.ts';

describe.each(dialects())('confirming a sign-up on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());
  const fresh = () => `joiner${++n}`;

  /** Signs up over the API and returns the token from the confirmation email that arrived. */
  async function signUp(username: string, email = `${username}@example.com`, password = STRONG_PASSWORD): Promise<string> {
    const seen = mailSeen(h);
    await h.request().post('/api/users').send({ username, email, password }).expect(202);
    const mail = await mailArriving(h, seen, (m) => m.to.includes(email) && m.subject === CONFIRM_SUBJECT);
    return tokenOf(confirmationLinkIn(mail));
  }

  it('before confirming, the address cannot log in and forgot-password sends it nothing; after, it is logged in', async () => {
    const name = fresh();
    const email = `${name}@example.com`;
    const token = await signUp(name);
    expect(await h.orm.em.fork().count(User, { email })).toBe(0);
    await h.request().post('/api/auth/login').send({ email, password: STRONG_PASSWORD }).expect(401);
    const seen = h.sink.messages.length;
    await h.request().post('/api/users/forgot-password').send({ email }).expect(202);
    await h.tasks.drain(5_000);
    expect(h.sink.messages.slice(seen)).toEqual([]);

    const browser = h.request();
    const confirmed = await browser.post('/api/users/confirm').send({ token, password: STRONG_PASSWORD });
    expect(confirmed.status).toBe(201);
    expect(confirmed.body.user).toMatchObject({ username: name, email });
    expect(Object.keys(confirmed.body.user).sort()).toEqual(['created_at', 'email', 'id', 'picture_url', 'username']);
    expect((await browser.get('/api/users/me').expect(200)).body.user.username).toBe(name);
    await h.request().post('/api/auth/login').send({ email, password: STRONG_PASSWORD }).expect(200);
    // The password typed at sign-up, hashed then, is the account's password; the plain one was never stored.
    const user = await h.orm.em.fork().findOneOrFail(User, { email });
    expect(user.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,(t=2,p=1|p=1,t=2)\$/);
    expect(await h.orm.em.fork().count(Signup, { email })).toBe(0);
  });

  it('the link works once; garbage gets the same generic 400', async () => {
    const token = await signUp(fresh());
    await h.request().post('/api/users/confirm').send({ token, password: STRONG_PASSWORD }).expect(201);
    for (const bad of [token, 'A'.repeat(43), 'not-a-token', token.slice(0, 42)]) {
      const res = await h.request().post('/api/users/confirm').send({ token: bad, password: STRONG_PASSWORD });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: { code: 'invalid_token', message: 'This confirmation link is invalid or has expired. Sign up again.' },
      });
    }
    for (const body of [{}, { token: ['a', 'b'] }, { token: 42 }]) {
      expect((await h.request().post('/api/users/confirm').send(body)).status).toBe(422);
    }
  });

  it('an expired link (backdated row) gets the same 400, and creates nothing', async () => {
    const name = fresh();
    const token = await signUp(name);
    await h.orm.em.fork().nativeUpdate(Signup, { email: `${name}@example.com` }, { expiresAt: new Date(Date.now() - 1) });
    expect((await h.request().post('/api/users/confirm').send({ token, password: STRONG_PASSWORD })).status).toBe(400);
    expect(await h.orm.em.fork().count(User, { username: name })).toBe(0);
  });

  it('a newer sign-up for the same address supersedes the older one', async () => {
    const email = `${fresh()}@example.com`;
    const older = await signUp(fresh(), email);
    const newerName = fresh();
    const newer = await signUp(newerName, email, 'the second passphrase');
    expect((await h.request().post('/api/users/confirm').send({ token: older, password: STRONG_PASSWORD })).status).toBe(400);
    const res = await h.request().post('/api/users/confirm').send({ token: newer, password: 'the second passphrase' });
    expect(res.status).toBe(201);
    expect(res.body.user.username).toBe(newerName);
    await h.request().post('/api/auth/login').send({ email, password: 'the second passphrase' }).expect(200);
  });

  it('a stranger\'s sign-up that replaced the owner\'s cannot be confirmed by the owner: the page names the username and asks for its password', async () => {
    const email = `${fresh()}@example.com`;
    await signUp(fresh(), email, 'the owner\'s passphrase');
    const strangerName = fresh();
    const live = await signUp(strangerName, email, 'the stranger\'s passphrase');
    // The owner opens the only live link, sees whose sign-up it is, and their password does not fit it.
    const browser = h.request();
    await browser.get(`/register/confirm?token=${live}`).expect(303);
    const page = await browser.get('/register/confirm').expect(200);
    expect(page.text).toContain(strangerName);
    expect(page.text).toMatch(/type="password"/);
    const refused = await browser.post('/register/confirm').type('form').send({ password: 'the owner\'s passphrase' });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('not the password chosen when signing up');
    const json = await h.request().post('/api/users/confirm').send({ token: live, password: 'the owner\'s passphrase' });
    expect(json.status).toBe(422);
    expect(Object.keys(json.body.error.fields)).toEqual(['password']);
    expect((await h.request().post('/api/users/confirm').send({ token: live })).status).toBe(422);
    expect(await h.orm.em.fork().count(User, { email })).toBe(0);
    // Nothing was used up: whoever chose the password (and reads the inbox) still can.
    await h.request().post('/api/users/confirm').send({ token: live, password: 'the stranger\'s passphrase' }).expect(201);
  });

  it('two concurrent confirmations of one link: exactly one creates the account', async () => {
    const name = fresh();
    const token = await signUp(name);
    const answers = await Promise.all([1, 2, 3].map(() => h.request().post('/api/users/confirm').send({ token, password: STRONG_PASSWORD })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 400, 400]);
    expect(await h.orm.em.fork().count(User, { username: name })).toBe(1);
  });

  it('a username taken before confirming is said plainly, and another one can be picked with the same link', async () => {
    const wanted = fresh();
    const token = await signUp(wanted, `${fresh()}@example.com`);
    await registeredUser(h, wanted);
    const res = await h.request().post('/api/users/confirm').send({ token, password: STRONG_PASSWORD });
    expect(res.status).toBe(422);
    expect(res.body.error.fields.username).toBe(`The username ${wanted} was taken before you confirmed. Choose another.`);
    expect((await h.request().post('/api/users/confirm').send({ token, password: STRONG_PASSWORD, username: 'x' })).status).toBe(422);
    const other = fresh();
    const confirmed = await h.request().post('/api/users/confirm').send({ token, password: STRONG_PASSWORD, username: other });
    expect(confirmed.status).toBe(201);
    expect(confirmed.body.user.username).toBe(other);
  });

  it('an address that became an account before confirming ends the sign-up plainly', async () => {
    const name = fresh();
    const email = `${name}@example.com`;
    const token = await signUp(`${name}-first`, email, 'the first passphrase');
    // Meanwhile the address became an account another way (an email change, say): here, written straight into the table.
    const at = new Date();
    await h.orm.em.fork().insert(User, { username: name, email, passwordHash: 'x', credentialVersion: 1, createdAt: at, updatedAt: at });
    const res = await h.request().post('/api/users/confirm').send({ token, password: 'the first passphrase' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('email_taken');
    expect(await h.orm.em.fork().count(Signup, { email })).toBe(0);
    expect((await h.request().post('/api/users/confirm').send({ token, password: 'the first passphrase' })).status).toBe(400);
  });

  it('expired sign-ups are pruned, live ones kept', async () => {
    const gone = fresh();
    await signUp(gone);
    const kept = fresh();
    await signUp(kept);
    await h.orm.em.fork().nativeUpdate(Signup, { username: gone }, { expiresAt: new Date(Date.now() - 1) });
    expect(await h.accounts.deleteExpiredSignups()).toBeGreaterThanOrEqual(1);
    expect(await h.orm.em.fork().count(Signup, { username: gone })).toBe(0);
    expect(await h.orm.em.fork().count(Signup, { username: kept })).toBe(1);
  });

  describe('the pages', () => {
    it('the link moves its token out of the address bar, shows a button, and a GET never uses it up', async () => {
      const name = fresh();
      const link = new URL(confirmationLinkIn({ text: `${h.config.appBaseUrl.origin}/register/confirm?token=${await signUp(name)}` }));
      const browser = h.request();
      const first = await browser.get(link.pathname + link.search).expect(303);
      expect(first.headers.location).toBe('/register/confirm');
      expect(first.headers['cache-control']).toBe('no-store');
      expect(String(first.headers['set-cookie'])).toMatch(/^inkwell_signup=[^;]+; Max-Age=1800; Path=\/register\/confirm; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
      for (let i = 0; i < 2; i++) {
        const page = await browser.get('/register/confirm').expect(200);
        expect(page.headers['cache-control']).toBe('no-store');
        expect(page.text).toContain('Create my account');
        expect(page.text).not.toContain(link.searchParams.get('token'));
      }
      expect(await h.orm.em.fork().count(User, { username: name })).toBe(0);

      const done = await browser.post('/register/confirm').type('form').send({ password: STRONG_PASSWORD });
      expect(done.status).toBe(303);
      expect(done.headers.location).toBe('/account');
      const account = await browser.get('/account').expect(200);
      expect(account.text).toMatch(new RegExp(`Signed in as </span><strong>${name}</strong>`));
      // Used: the link now gets the plain 400 page.
      await h.request().get(link.pathname + link.search).expect(303);
      const again = h.request();
      await again.get(link.pathname + link.search);
      const dead = await again.get('/register/confirm');
      expect(dead.status).toBe(400);
      expect(dead.text).toContain('This sign-up link is invalid or has expired.');
    });

    it('with htmx the button answers 204 + HX-Redirect, and a taken username swaps in a form to pick another', async () => {
      const wanted = fresh();
      const token = await signUp(wanted, `${fresh()}@example.com`);
      await registeredUser(h, wanted);
      const htmx = { 'HX-Request': 'true' };
      const taken = await h.request().post('/register/confirm').set(htmx).type('form').send({ token, password: STRONG_PASSWORD });
      expect(taken.status).toBe(422);
      expect(taken.text.trimStart()).toMatch(/^<form id="confirm-form"/);
      expect(taken.text).toContain(`The username ${wanted} was taken before you confirmed. Choose another.`);
      expect(taken.text).toContain('aria-invalid="true"');
      const picked = await h.request().post('/register/confirm').set(htmx).type('form').send({ token, password: STRONG_PASSWORD, username: fresh() });
      expect(picked.status).toBe(204);
      expect(picked.headers['hx-redirect']).toBe('/account');
    });

    it('without a live link the page says so with one generic 400, full page or fragment', async () => {
      const none = await h.request().get('/register/confirm');
      expect(none.status).toBe(400);
      expect(none.text).toContain('<html');
      const post = await h.request().post('/register/confirm').set('HX-Request', 'true').type('form').send({ token: 'A'.repeat(43), password: STRONG_PASSWORD });
      expect(post.status).toBe(400);
      expect(post.text.trimStart()).toMatch(/^<div id="confirm-form"/);
      expect(post.text).toContain('Sign up again');
    });

    it('the register page answers 202 with the inbox message; 422 keeps what was typed but never the password', async () => {
      const name = fresh();
      const sent = await h.request().post('/register').type('form').send({ username: name, email: `${name}@example.com`, password: STRONG_PASSWORD });
      expect(sent.status).toBe(202);
      expect(sent.text).toContain('Check your inbox to finish creating your account.');
      const bad = await h.request().post('/register').type('form').send({ username: 'ok_name', email: 'nope', password: 'password1' });
      expect(bad.status).toBe(422);
      expect(bad.text).toContain('value="ok_name"');
      expect(bad.text).not.toContain('password1');
      const mail = await h.sink.waitFor((m) => recipients(m).includes(`${name}@example.com`));
      expect(mail.subject).toBe(CONFIRM_SUBJECT);
    });
  });
});
