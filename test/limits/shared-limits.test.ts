// Two Inkwell processes on one Postgres enforce one set of limits, and a restart forgets nothing:
// the counters live in the database, not in either process.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RATE_LIMITS } from '../../src/limits/policy.ts';
import { PRODUCTION_ENV, startApp, type AppProcess } from '../support/app-process.ts';
import { createDatabase, type TestDatabase } from '../support/harness.ts';
import { startSmtpSink, type Sink } from '../support/smtp.ts';

describe.skipIf(!inject('postgresUrl'))('limits shared by instances on one Postgres', () => {
  let db: TestDatabase;
  let sink: Sink;
  let env: Record<string, string>;
  let a: AppProcess;
  let b: AppProcess;
  beforeAll(async () => {
    db = await createDatabase('postgres');
    sink = await startSmtpSink();
    // Production settings, limits on (the default); TRUST_PROXY=loopback lets X-Forwarded-For name the client.
    env = { ...PRODUCTION_ENV, DATABASE_URL: db.url, SMTP_URL: sink.url };
    [a, b] = await Promise.all([startApp(env), startApp(env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await sink?.stop();
    await db?.drop();
  });

  let emails = 0;
  /** A failed login from `ip`, for an email never used before (so only the per-IP limit can answer 429). */
  async function login(app: AppProcess, ip: string, email = `visitor${emails++}@example.com`) {
    const res = await fetch(`${app.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https', 'x-forwarded-for': ip },
      body: JSON.stringify({ email, password: 'not the password' }),
    });
    const body = (await res.json()) as { error: { code: string } };
    return { status: res.status, code: body.error.code, retryAfter: res.headers.get('retry-after') };
  }
  /** The attempt (1-based) that first got 429, sending from `ip` to the instances in turn. */
  async function first429(instances: AppProcess[], ip: string, email?: () => string) {
    for (let attempt = 1; attempt <= 3 * RATE_LIMITS.login.limit; attempt++) {
      const answer = await login(instances[(attempt - 1) % instances.length], ip, email?.());
      if (answer.status === 429) return { attempt, ...answer };
      expect(answer.status).toBe(401);
    }
    return { attempt: Infinity, status: 401, code: '', retryAfter: null };
  }

  it('alternating between two instances, the first 429 comes at the same attempt as on one', async () => {
    const onOne = await first429([a], '203.0.113.10');
    const onTwo = await first429([a, b], '203.0.113.20');
    expect(onOne.attempt).toBe(RATE_LIMITS.login.limit + 1);
    expect(onTwo.attempt).toBe(RATE_LIMITS.login.limit + 1);
    expect(onTwo.code).toBe('rate_limited');
    expect(Number(onTwo.retryAfter)).toBeGreaterThan(0);
  }, 120_000);

  it('the per-email throttle is shared too: failures on either instance add up', async () => {
    let n = 0;
    // A new address every time, one email: only the per-email count can answer 429.
    const answers = [];
    for (let attempt = 1; attempt <= 11; attempt++) {
      answers.push(await login([a, b][attempt % 2], `198.51.100.${++n}`, 'target@example.com'));
    }
    expect(answers.map((x) => x.status)).toEqual([...Array(10).fill(401), 429]);
    expect(answers[10].code).toBe('login_throttled');
  });

  it('a restart keeps the counts', async () => {
    await Promise.all([a.stop(), b.stop()]);
    [a, b] = await Promise.all([startApp(env), startApp(env)]);
    for (const app of [a, b]) {
      expect(await login(app, '203.0.113.20'), app.output()).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(await login(app, '198.51.100.99', 'target@example.com')).toMatchObject({ status: 429, code: 'login_throttled' });
    }
    // An address that never hit the limit is still welcome.
    expect((await login(a, '203.0.113.30')).status).toBe(401);
  }, 120_000);
});
