// The per-email login throttle: failures counted per normalised email from any address, account or not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginThrottle, RateLimitHit } from '../../src/db/entities.ts';
import { emailHash } from '../../src/limits/login-throttle.ts';
import { LOGIN_THROTTLE } from '../../src/limits/policy.ts';
import { dialects, registeredUser, requestResetToken, startHarness, type Harness } from '../support/harness.ts';

describe.each(dialects())('login throttle on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    // TRUST_PROXY=1: each request names its client address in X-Forwarded-For, as a botnet's would differ.
    h = await startHarness(dialect, { env: { RATE_LIMITS: 'on', TRUST_PROXY: '1' } });
  });
  afterAll(() => h.close());

  let nextAddress = 1;
  /** A login from an address never used before in this file, so the per-IP limit never interferes. */
  const logIn = (email: string, password: string, path = '/api/auth/login') => {
    const n = nextAddress++;
    const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    return h.request().post(path).set('X-Forwarded-For', ip).type(path.startsWith('/api') ? 'json' : 'form').send({ email, password });
  };
  const statusesOf = async (email: string, attempts: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < attempts; i++) statuses.push((await logIn(email, `wrong guess number ${i}`)).status);
    return statuses;
  };
  const expected = (attempts: number) => Array.from({ length: attempts }, (_, i) => (i < LOGIN_THROTTLE.failures ? 401 : 429));

  it('30 wrong passwords from 30 addresses: 429 with Retry-After from the 11th on, even for the right password', async () => {
    const alice = await registeredUser(h, 'alice');
    expect(await statusesOf(alice.email, 30)).toEqual(expected(30));

    const right = await logIn(alice.email, alice.password);
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe('login_throttled');
    const retryAfter = Number(right.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(LOGIN_THROTTLE.firstBlockMinutes * 60);

    // The page says what happened and offers the way out.
    const page = await logIn(`  ${alice.email.toUpperCase()} `, alice.password, '/login');
    expect(page.status).toBe(429);
    expect(page.headers['retry-after']).toBeDefined();
    expect(page.text).toContain('Too many wrong passwords were tried for this email address');
    expect(page.text).toContain('href="/forgot-password"');

    // Logged and counted, with the email hashed, never in the clear.
    const throttled = h.logs.filter((line) => line.includes('"msg":"throttled"'));
    expect(throttled.some((line) => line.includes(emailHash(alice.email).slice(0, 16)))).toBe(true);
    expect(h.logs.some((line) => line.includes(alice.email))).toBe(false);
  });

  it('an unknown email is throttled at exactly the same attempt', async () => {
    expect(await statusesOf('nobody-here@example.com', 30)).toEqual(expected(30));
  });

  it('another account logs in from the same addresses meanwhile', async () => {
    const bob = await registeredUser(h, 'bob');
    nextAddress = 1; // the addresses the storms above came from
    expect((await logIn(bob.email, bob.password)).status).toBe(200);
  });

  it('forgot and reset work while blocked, and the reset ends the block', async () => {
    const carol = await registeredUser(h, 'carol');
    expect(await statusesOf(carol.email, 11)).toEqual(expected(11));
    const token = await requestResetToken(h, carol.email);
    await h.request().post('/api/users/reset-password').send({ token, new_password: 'a fresh passphrase for carol' }).expect(200);
    expect((await logIn(carol.email, 'a fresh passphrase for carol')).status).toBe(200);
  });

  it('a successful login clears the count', async () => {
    const dave = await registeredUser(h, 'dave');
    expect(await statusesOf(dave.email, LOGIN_THROTTLE.failures - 1)).toEqual(expected(LOGIN_THROTTLE.failures - 1));
    expect((await logIn(dave.email, dave.password)).status).toBe(200);
    // Counting from zero again: ten more failures before the first 429.
    expect(await statusesOf(dave.email, 11)).toEqual(expected(11));
  });

  it('each further failure after a block doubles the next block, up to 15 minutes', async () => {
    const email = 'doubling@example.com';
    expect(await statusesOf(email, 11)).toEqual(expected(11));
    const retryAfters: number[] = [];
    for (let block = 0; block < 5; block++) {
      // The block has passed (backdated, not waited for): one more guess is checked, and fails.
      await h.orm.em.fork().nativeUpdate(LoginThrottle, { emailHash: emailHash(email) }, { blockedUntil: new Date(Date.now() - 1000) });
      expect((await logIn(email, 'yet another guess')).status).toBe(401);
      const blocked = await logIn(email, 'and another');
      expect(blocked.status).toBe(429);
      retryAfters.push(Number(blocked.headers['retry-after']));
    }
    const minutes = retryAfters.map((s) => Math.ceil(s / 60));
    expect(minutes).toEqual([2, 4, 8, 15, 15]);
  });

  it('expired counters and throttles are pruned with the housekeeping, live ones kept', async () => {
    await statusesOf('pruned@example.com', 1);
    await statusesOf('kept@example.com', 1);
    const em = h.orm.em.fork();
    const longAgo = new Date(Date.now() - (LOGIN_THROTTLE.forgetAfterHours + 1) * 3600_000);
    await em.nativeUpdate(LoginThrottle, { emailHash: emailHash('pruned@example.com') }, { lastFailedAt: longAgo, blockedUntil: longAgo });
    await em.nativeUpdate(RateLimitHit, { bucket: { $like: 'login:10.%' } }, { resetsAt: longAgo });
    expect(await h.limits.pruneExpired()).toBeGreaterThan(1);
    expect(await em.count(LoginThrottle, { emailHash: emailHash('pruned@example.com') })).toBe(0);
    expect(await em.count(LoginThrottle, { emailHash: emailHash('kept@example.com') })).toBe(1);
    expect(await em.count(RateLimitHit, { bucket: { $like: 'login:10.%' } })).toBe(0);
  });
});

describe('login throttle off', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite', { env: { RATE_LIMITS: 'off' } });
  });
  afterAll(() => h.close());

  it('RATE_LIMITS=off never throttles an email', async () => {
    const erin = await registeredUser(h, 'erin');
    for (let i = 0; i < LOGIN_THROTTLE.failures + 5; i++) {
      await h.request().post('/api/auth/login').send({ email: erin.email, password: `wrong guess ${i}` }).expect(401);
    }
    await h.request().post('/api/auth/login').send({ email: erin.email, password: erin.password }).expect(200);
    expect(await h.orm.em.fork().count(LoginThrottle, {})).toBe(0);
  });
});
