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
