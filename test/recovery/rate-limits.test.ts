// Per-IP rate limits on the credential routes: 429 with Retry-After, shared by the page and the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RATE_LIMITS } from '../../src/limits/policy.ts';
import { dialects, startHarness, type Harness } from '../support/harness.ts';

describe.each(dialects())('rate limits on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { RATE_LIMITS: 'on', TRUST_PROXY: '1' } });
  });
  afterAll(() => h.close());

  // Each case comes from its own client address (TRUST_PROXY=1 reads X-Forwarded-For), so the counters do not mix.
  // Logins use a new email each time: ten failures for one email would also trip the per-email throttle.
  const cases = [
    { name: 'login', ip: '203.0.113.1', limit: RATE_LIMITS.login.limit, page: '/login', api: '/api/auth/login', body: (i: number) => ({ email: `x${i}@example.com`, password: 'whatever it is' }) },
    { name: 'forgot', ip: '203.0.113.2', limit: RATE_LIMITS.forgot.limit, page: '/forgot-password', api: '/api/users/forgot-password', body: () => ({ email: 'x@example.com' }) },
    { name: 'reset', ip: '203.0.113.3', limit: RATE_LIMITS.reset.limit, page: '/reset-password', api: '/api/users/reset-password', body: () => ({ token: 'A'.repeat(43), new_password: 'some long passphrase' }) },
    { name: 'signupConfirm', ip: '203.0.113.5', limit: RATE_LIMITS.signupConfirm.limit, page: '/register/confirm', api: '/api/users/confirm', body: () => ({ token: 'A'.repeat(43), password: 'whatever it is' }) },
    { name: 'register', ip: '203.0.113.4', limit: RATE_LIMITS.register.limit, page: '/register', api: '/api/users', body: () => ({ username: 'x', email: 'bad', password: 'p' }) },
  ];

  it('the sign-up confirmation has a budget of its own: spending the reset links\' leaves it open', async () => {
    const ip = '203.0.113.9';
    for (let i = 0; i < RATE_LIMITS.reset.limit; i++) {
      await h.request().post('/api/users/reset-password').set('X-Forwarded-For', ip).send({ token: 'A'.repeat(43), new_password: 'some long passphrase' }).expect(400);
    }
    await h.request().post('/api/users/reset-password').set('X-Forwarded-For', ip).send({ token: 'A'.repeat(43), new_password: 'some long passphrase' }).expect(429);
    const confirm = await h.request().post('/api/users/confirm').set('X-Forwarded-For', ip).send({ token: 'A'.repeat(43), password: 'whatever it is' });
    expect(confirm.status).toBe(400);
  });

  for (const c of cases) {
    it(`${c.name}: after ${c.limit} attempts from one address, the next gets 429 with Retry-After`, async () => {
      let sent = 0;
      const send = (path: string, ip: string) =>
        h.request().post(path).set('X-Forwarded-For', ip).type(path.startsWith('/api') ? 'json' : 'form').send(c.body(sent++));
      for (let i = 0; i < c.limit; i++) {
        expect((await send(i % 2 ? c.page : c.api, c.ip)).status).not.toBe(429);
      }
      const limited = await send(c.api, c.ip);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.body.error.code).toBe('rate_limited');
      const page = await send(c.page, c.ip);
      expect(page.status).toBe(429);
      expect(page.text).toContain('Too many attempts');
      // Another address is not affected.
      expect((await send(c.api, '198.51.100.7')).status).not.toBe(429);
    });
  }
});

describe('rate limits off', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite', { env: { RATE_LIMITS: 'off' } });
  });
  afterAll(() => h.close());

  it('RATE_LIMITS=off never answers 429', async () => {
    for (let i = 0; i < RATE_LIMITS.forgot.limit * 3; i++) {
      await h.request().post('/api/users/forgot-password').send({ email: 'x@example.com' }).expect(202);
    }
  });
});
