// Changing the password checks the current one: limited per IP and per account like a login (issue 18, item 1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_THROTTLE, RATE_LIMITS } from '../../src/limits/policy.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';

describe.each(dialects())('password checks when changing the password on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { RATE_LIMITS: 'on', TRUST_PROXY: '1' } });
  });
  afterAll(() => h.close());

  let nextAddress = 1;
  const fresh = () => {
    const n = nextAddress++;
    return `172.16.${(n >> 8) & 255}.${n & 255}`;
  };
  type User = Awaited<ReturnType<typeof registeredUser>>;
  const change = (user: User, current: string, ip = fresh()) =>
    user.agent.patch('/api/users/me/password').set('X-Forwarded-For', ip)
      .send({ current_password: current, new_password: 'another long passphrase' });

  it('wrong current passwords from a stolen session are throttled per account, from any address', async () => {
    const alice = await registeredUser(h, 'alice');
    for (let i = 0; i < LOGIN_THROTTLE.failures; i++) expect((await change(alice, `guess ${i}`)).status).toBe(422);
    const blocked = await change(alice, alice.password);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('login_throttled');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // The same count as logins: the login form is closed to these guesses too.
    const login = await h.request().post('/api/auth/login').set('X-Forwarded-For', fresh()).send({ email: alice.email, password: alice.password });
    expect(login.status).toBe(429);
    // The account page says so on the form.
    const page = await alice.agent.post('/account/password').set('X-Forwarded-For', fresh()).type('form')
      .send({ current_password: alice.password, new_password: 'another long passphrase' });
    expect(page.status).toBe(429);
    expect(page.text).toContain('Too many wrong passwords were tried for this email address');
  });

  it('failed logins and failed changes add up to one count; a successful change clears it', async () => {
    const bob = await registeredUser(h, 'bob');
    const half = LOGIN_THROTTLE.failures / 2;
    for (let i = 0; i < half; i++) {
      await h.request().post('/api/auth/login').set('X-Forwarded-For', fresh()).send({ email: bob.email, password: `guess ${i}` }).expect(401);
    }
    for (let i = 0; i < half - 1; i++) expect((await change(bob, `guess ${i}`)).status).toBe(422);
    expect((await change(bob, bob.password)).status).toBe(200);
    // Without the clear, the next failure would be the eleventh.
    const login = h.request().post('/api/auth/login').set('X-Forwarded-For', fresh());
    expect((await login.send({ email: bob.email, password: 'one more wrong guess' })).status).toBe(401);
  });

  it('share the per-IP login budget: after 10 logins from one address, changing the password from it gets 429', async () => {
    const carol = await registeredUser(h, 'carol');
    const ip = '192.0.2.77';
    for (let i = 0; i < RATE_LIMITS.login.limit; i++) {
      await h.request().post('/api/auth/login').set('X-Forwarded-For', ip).send({ email: `someone${i}@example.com`, password: 'a guess' }).expect(401);
    }
    const limited = await change(carol, carol.password, ip);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    const page = await carol.agent.post('/account/password').set('X-Forwarded-For', ip).type('form')
      .send({ current_password: carol.password, new_password: 'another long passphrase' });
    expect(page.status).toBe(429);
    // From elsewhere the same session still can.
    expect((await change(carol, carol.password)).status).toBe(200);
  });
});

// Issue 28 and issue 30 finding 2: every check of the current password counts, not only the password form's.
describe.each(dialects())('password checks outside login on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { RATE_LIMITS: 'on', TRUST_PROXY: '1' } });
  });
  afterAll(() => h.close());

  let nextAddress = 1;
  const fresh = () => {
    const n = nextAddress++;
    return `172.17.${(n >> 8) & 255}.${n & 255}`;
  };
  type User = Awaited<ReturnType<typeof registeredUser>>;
  const change = (user: User, current: string, ip = fresh()) =>
    user.agent.patch('/api/users/me/password').set('X-Forwarded-For', ip)
      .send({ current_password: current, new_password: 'another long passphrase' });

  it('wrong current passwords on email change and account deletion add up with logins, then 429 everywhere', async () => {
    const dave = await registeredUser(h, 'dave');
    const half = LOGIN_THROTTLE.failures / 2;
    for (let i = 0; i < half; i++) {
      const res = await dave.agent.post('/api/users/me/email').set('X-Forwarded-For', fresh()).send({ new_email: `dave${i}@example.net`, current_password: `guess ${i}` });
      expect(res.status).toBe(422);
    }
    for (let i = 0; i < half; i++) {
      expect((await dave.agent.delete('/api/users/me').set('X-Forwarded-For', fresh()).send({ current_password: `guess ${i}` })).status).toBe(422);
    }
    const email = await dave.agent.post('/api/users/me/email').set('X-Forwarded-For', fresh()).send({ new_email: 'dave@example.net', current_password: dave.password });
    expect(email.status).toBe(429);
    expect(email.body.error.code).toBe('login_throttled');
    expect(Number(email.headers['retry-after'])).toBeGreaterThan(0);
    const deletion = await dave.agent.delete('/api/users/me').set('X-Forwarded-For', fresh()).send({ current_password: dave.password });
    expect(deletion.status).toBe(429);
    expect(Number(deletion.headers['retry-after'])).toBeGreaterThan(0);
    const login = await h.request().post('/api/auth/login').set('X-Forwarded-For', fresh()).send({ email: dave.email, password: dave.password });
    expect(login.status).toBe(429);
    // The forms say so too, and nothing was deleted.
    const page = await dave.agent.post('/account/delete').set('X-Forwarded-For', fresh()).type('form').send({ current_password: dave.password });
    expect(page.status).toBe(429);
    expect(page.text).toContain('Too many wrong passwords were tried for this email address');
    await dave.agent.get('/api/users/me').set('X-Forwarded-For', fresh()).expect(200);
  });

  it('the account\'s own address is answered like any other, right password or wrong', async () => {
    const erin = await registeredUser(h, 'erin');
    const ask = (new_email: string, current_password: string) =>
      erin.agent.post('/api/users/me/email').set('X-Forwarded-For', fresh()).send({ new_email, current_password });
    const [ownWrong, otherWrong] = [await ask(erin.email, 'not the password'), await ask('erin@example.net', 'not the password')];
    expect(ownWrong.status).toBe(422);
    expect(ownWrong.body).toEqual(otherWrong.body);
    const [ownRight, otherRight] = [await ask(erin.email, erin.password), await ask('erin@example.net', erin.password)];
    expect(ownRight.status).toBe(202);
    expect(ownRight.text).toBe(otherRight.text);
  });

  it('a wrong current password is a security event the owner sees', async () => {
    const frank = await registeredUser(h, 'frank');
    await frank.agent.post('/api/users/me/email').set('X-Forwarded-For', fresh()).send({ new_email: 'frank@example.net', current_password: 'a wrong guess' }).expect(422);
    await frank.agent.delete('/api/users/me').set('X-Forwarded-For', fresh()).send({ current_password: 'another wrong guess' }).expect(422);
    await change(frank, 'a third wrong guess').expect(422);
    await h.tasks.drain();
    const events = (await frank.agent.get('/api/users/me/events').set('X-Forwarded-For', fresh()).expect(200)).body.events as { kind: string }[];
    expect(events.filter((e) => e.kind === 'password_check_failed')).toHaveLength(3);
    const page = await frank.agent.get('/account').set('X-Forwarded-For', fresh()).expect(200);
    expect(page.text).toContain('Wrong current password');
  });
});
