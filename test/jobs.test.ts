// The durable job table and its runner: claims never overlap, leases run out, failures back off, then die;
// finished rows go after a day; and no usable token ever rests in the database.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Job } from '../src/db/entities.ts';
import { claim, deleteOld, enqueue } from '../src/jobs/queue.ts';
import { LEASE_MS } from '../src/jobs/runner.ts';
import { dialects, registeredUser, startHarness, type Harness } from './support/harness.ts';
import { until } from './support/net.ts';
import { recipients, resetLinkIn, tokenOf } from './support/smtp.ts';

describe.each(dialects())('jobs on %s', (dialect) => {
  let h: Harness;
  const failures: string[] = [];
  // Jobs of kind test:gated start, then wait for the test to open the gate.
  let gate = Promise.withResolvers<void>();
  let started = 0;
  let ran = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
    h.jobs.register({
      'test:gated': {
        run: async () => {
          started++;
          await gate.promise;
          ran++;
        },
      },
      'test:fail': {
        run: async (payload: { note: string }) => {
          failures.push(payload.note);
          throw new Error('the far side is down');
        },
      },
    });
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.tasks.drain();
    await h.orm.em.fork().nativeDelete(Job, {});
  });

  const em = () => h.orm.em.fork();
  const row = (id: number) => em().findOneOrFail(Job, { id });
  // Rows enqueued here are not woken (`wake: false`) and are due in an hour, so the runner leaves them to the test.
  const later = () => new Date(Date.now() + 3600_000);
  const put = (n: number, kind = 'test:idle') =>
    Promise.all(Array.from({ length: n }, (_, i) => enqueue(em(), kind, { i }, { wake: false, runAt: later() })));

  it('two claimers never get the same row', async () => {
    const ids = await put(40);
    const at = new Date(Date.now() + 2 * 3600_000);
    const lease = new Date(at.getTime() + LEASE_MS);
    // Four claimers at once, each on its own connection where the database has several.
    const batches = await Promise.all(Array.from({ length: 4 }, () => claim(em(), at, lease, 15)));
    const claimed = batches.flat().map((job) => job.id);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort((a, b) => a - b)).toEqual(ids.sort((a, b) => a - b));
    expect(await claim(em(), at, lease, 15)).toEqual([]); // all leased
  });

  it('a live lease hides a row; an expired one (its claimer died) makes it claimable again', async () => {
    const [id] = await put(1);
    const at = new Date(Date.now() + 2 * 3600_000);
    const first = await claim(em(), at, new Date(at.getTime() + LEASE_MS), 5);
    expect(first.map((job) => [job.id, job.attempts])).toEqual([[id, 1]]);
    expect(await claim(em(), new Date(at.getTime() + LEASE_MS - 1), new Date(at.getTime() + 2 * LEASE_MS), 5)).toEqual([]);
    const again = await claim(em(), new Date(at.getTime() + LEASE_MS), new Date(at.getTime() + 2 * LEASE_MS), 5);
    expect(again.map((job) => [job.id, job.attempts])).toEqual([[id, 2]]);
  });

  it('more jobs due than the runner takes at once, woken while every slot is busy: every job still runs', async () => {
    gate = Promise.withResolvers<void>();
    started = ran = 0;
    await Promise.all(Array.from({ length: 20 }, (_, i) => enqueue(em(), 'test:gated', { i }, { wake: false })));
    h.jobs.wake();
    // One claim starts a whole batch at once: once one has started, every slot is taken.
    await until(() => started > 0, 'the first batch to start');
    expect(started).toBeLessThan(20);
    h.jobs.wake();
    await new Promise((resolve) => setImmediate(resolve)); // the wake's claim has run, finding no free slot
    gate.resolve();
    // A job counts as run once the runner has recorded it finished (just after its handler returns).
    await until(async () => (await em().count(Job, { kind: 'test:gated', finishedAt: null })) === 0, 'all 20 jobs to finish');
    expect(ran).toBe(20);
  });

  it('a failure backs off exponentially, with jitter', async () => {
    const id = await enqueue(em(), 'test:fail', { note: 'backoff' }, { wake: false });
    const retries = () => h.logs.map((l) => JSON.parse(l)).filter((l) => l.job === id && l.msg === 'job failed; will retry');
    for (let attempt = 1; attempt <= 4; attempt++) {
      await em().nativeUpdate(Job, { id }, { runAt: new Date() });
      h.jobs.wake();
      await until(() => retries().length >= attempt, `attempt ${attempt} to fail`);
    }
    // The harness backs off from 100 ms, doubling, each delay within ±25 %.
    const delays = retries().slice(0, 4).map((l) => l.retry_in_ms);
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(100 * 2 ** i * 0.75);
      expect(delay).toBeLessThanOrEqual(100 * 2 ** i * 1.25);
    });
    expect(new Set(delays.map((d, i) => d / 2 ** i)).size).toBeGreaterThan(1); // jittered, not a fixed ladder
    expect(retries().slice(0, 4).map((l) => l.attempt)).toEqual([1, 2, 3, 4]);
    expect((await row(id)).deadAt).toBeNull();
  });

  it('after about a day of failures a job is dead: logged as an error without its content, never claimed again', async () => {
    const id = await enqueue(em(), 'test:fail', { note: 'secret-ish payload' }, { wake: false });
    await em().nativeUpdate(Job, { id }, { createdAt: new Date(Date.now() - 24 * 3600_000) });
    h.jobs.wake();
    await until(async () => (await row(id)).deadAt !== null, 'the job to die');
    const line = h.logs.map((l) => JSON.parse(l)).find((l) => l.job === id && l.msg === 'job failed; giving up');
    expect(line).toMatchObject({ level: 50, kind: 'test:fail', error: { message: 'the far side is down' } });
    expect(JSON.stringify(line)).not.toContain('secret-ish');
    const tried = failures.length;
    await em().nativeUpdate(Job, { id }, { runAt: new Date(0) });
    expect(await h.tasks.drain()).toBe(0);
    expect(failures.length).toBe(tried);
  });

  it('finished jobs are deleted after a day, dead ones after a week; others stay', async () => {
    const day = 24 * 3600_000;
    const [oldDone, newDone, oldDead, newDead, pending] = await put(5);
    const now = Date.now();
    await em().nativeUpdate(Job, { id: oldDone }, { finishedAt: new Date(now - day - 1000) });
    await em().nativeUpdate(Job, { id: newDone }, { finishedAt: new Date(now - day + 60_000) });
    await em().nativeUpdate(Job, { id: oldDead }, { deadAt: new Date(now - 7 * day - 1000) });
    await em().nativeUpdate(Job, { id: newDead }, { deadAt: new Date(now - 6 * day) });
    expect(await deleteOld(em(), new Date(now - day), new Date(now - 7 * day))).toBe(2);
    const left = (await em().find(Job, {})).map((job) => job.id).sort((a, b) => a - b);
    expect(left).toEqual([newDone, newDead, pending].sort((a, b) => a - b));
  });

  it('a processed forgot request leaves no trace of the address typed, known or not', async () => {
    const user = await registeredUser(h, 'ruth');
    await h.tasks.drain();
    // Jobs of the sign-up (its confirmation email, kept a day like every email) are not this test's.
    const earlier = new Set((await em().find(Job, {})).map((job) => job.id));
    for (const email of [user.email, 'nobody-here@example.com']) {
      await h.request().post('/api/users/forgot-password').send({ email }).expect(202);
    }
    await h.sink.waitFor((m) => recipients(m).includes(user.email) && m.subject === 'Reset your Inkwell password');
    await h.tasks.drain();
    const rows = (await em().find(Job, {})).filter((job) => !earlier.has(job.id));
    expect(rows.map((job) => job.kind)).toEqual(['email:reset-instructions']);
    expect(JSON.parse(rows[0].payload)).toEqual({ userId: user.id });
    expect(rows[0].finishedAt).not.toBeNull();
  });

  it('no raw token (nor link) rests in any table' + (dialect === 'sqlite' ? ', the SQLite file or its WAL' : ''), async () => {
    const user = await registeredUser(h, 'tokenless');
    await h.request().post('/api/users/forgot-password').send({ email: user.email }).expect(202);
    const token = tokenOf(resetLinkIn(await h.sink.waitFor((m) => recipients(m).includes(user.email) && m.subject === 'Reset your Inkwell password')));
    await h.tasks.drain();
    const tables = ['user', 'session', 'password_reset_token', 'job', 'signup', 'signup_throttle'];
    let cells = 0;
    for (const table of tables) {
      const rows = await em().execute(`select * from ${dialect === 'sqlite' ? `\`${table}\`` : `"${table}"`}`);
      for (const r of rows) {
        for (const value of Object.values(r)) {
          cells++;
          expect(String(value)).not.toContain(token);
          expect(String(value)).not.toContain('reset-password?token');
        }
      }
    }
    expect(cells).toBeGreaterThan(10); // the check saw data (a hash of this token among it)
    if (h.db.sqliteFile) {
      for (const file of [h.db.sqliteFile, `${h.db.sqliteFile}-wal`]) {
        const bytes = readFileSync(file);
        expect(bytes.length).toBeGreaterThan(0);
        expect(bytes.includes(Buffer.from(token))).toBe(false);
        expect(bytes.includes(Buffer.from('reset-password?token'))).toBe(false);
      }
    }
  });
});
