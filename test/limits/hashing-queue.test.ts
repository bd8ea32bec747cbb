// The argon2 queue is bounded: a flood is refused with 503 instead of queued for minutes, and the
// work of a client that has gone is dropped (issue 18, item 1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashingStats, MAX_HASHING_WAIT_MS } from '../../src/accounts/passwords.ts';
import { until } from '../support/net.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';

describe.each(dialects())('the password hashing queue on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    // Limits off: the point is what one process does with more guesses than it can hash.
    h = await startHarness(dialect, { listen: true, env: { RATE_LIMITS: 'off' } });
  });
  afterAll(() => h.close());

  /** Logins that reached argon2's queue since `before`: running, done, waiting or refused. */
  const arrivedSince = (before: ReturnType<typeof hashingStats>) => {
    const now = hashingStats();
    return now.started - before.started + now.queued + (now.refused - before.refused);
  };
  const idle = () => until(() => hashingStats().queued === 0 && hashingStats().running === 0, 'the hashing queue to drain', 120_000);
  const login = (i: number, signal?: AbortSignal) =>
    fetch(`${h.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `flood${i}@example.com`, password: `guess number ${i}` }),
      signal,
    });

  it(`a login that would wait more than ${MAX_HASHING_WAIT_MS / 1000} s for argon2 is refused with 503 and Retry-After`, async () => {
    await idle();
    const before = hashingStats();
    const answers: Promise<Response>[] = [];
    const refused: Response[] = [];
    // More logins at once than can be hashed within the bound, however fast this machine is today.
    for (let batch = 0; refused.length === 0 && batch < 40; batch++) {
      for (let i = 0; i < 100; i++) {
        answers.push(login(batch * 100 + i).then((res) => (res.status === 503 && refused.push(res), res)));
      }
      await until(() => refused.length > 0 || arrivedSince(before) >= answers.length, 'the batch to arrive', 60_000);
    }
    expect(refused.length).toBeGreaterThan(0);
    expect(Number(refused[0].headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await refused[0].json()).error.code).toBe('busy');
    // Everything admitted is answered, as usual.
    const statuses = new Set((await Promise.all(answers)).map((res) => res.status));
    expect([...statuses].sort()).toEqual([401, 503]);
    await idle();
    // Afterwards the door is open again.
    const user = await registeredUser(h, 'after-the-flood');
    expect((await fetch(`${h.baseUrl}/api/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: user.password }),
    })).status).toBe(200);
  });

  it('logins whose clients have gone are dropped from the queue without hashing', async () => {
    await idle();
    const before = hashingStats();
    const clients = Array.from({ length: 40 }, () => new AbortController());
    const answers = clients.map((c, i) => login(i, c.signal).catch(() => 'aborted'));
    await until(() => arrivedSince(before) >= clients.length, 'every login to reach the queue', 60_000);
    const queued = hashingStats().queued;
    expect(queued).toBeGreaterThan(10);
    for (const c of clients) c.abort();
    await Promise.all(answers);
    await idle();
    const after = hashingStats();
    // The queued ones were let go, not hashed for nobody.
    expect(after.abandoned - before.abandoned).toBeGreaterThanOrEqual(queued / 2);
    expect(after.started - before.started).toBeLessThan(clients.length - queued / 2);
  });
});
