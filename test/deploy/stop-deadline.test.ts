// A stop always ends, whatever happens to the log: its reader gone, stalled (a full pipe), or a
// full disk. And a stalled reader costs bounded memory, never the answers.
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_BUFFER_BYTES } from '../../src/log.ts';
import { PRODUCTION_ENV, client } from '../support/app-process.ts';
import { registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { until } from '../support/net.ts';
import { burst, rssMiB, spawnApp, type RawApp } from '../support/raw-process.ts';

// The stop's deadline is 10 s of work; the process must be gone within a second of it.
const EXIT_WITHIN_MS = 11_000;
// 6,000 log lines of ~12 KB with nobody reading: what fits the 1 MiB buffer and the pipe's 64 KB (under
// a hundred lines) may wait, every other line must be dropped and counted. That count is the proof
// that lines are not kept; the memory bounds are a loose ceiling over it, because RSS drifts with the
// heap under load (growth measured 32 MiB on a quiet 2-core machine, 93 MiB with it overloaded).
const STALLED_READER_REQUESTS = 6_000;
const LINES_THAT_MAY_WAIT = 200;
const STALLED_READER_GROWTH_MIB = 160;
const STALLED_READER_RSS_MIB = 600;

describe('a stop that always ends', { timeout: 120_000 }, () => {
  let h: Harness;
  let alice: Awaited<ReturnType<typeof registeredUser>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    // The account lives in a database the real process opens too.
    h = await startHarness('sqlite');
    alice = await registeredUser(h, 'alice');
    // The mail server turns every connection away from now on: every email fails and is retried.
    h.sink.refuse(true);
    env = { ...PRODUCTION_ENV, DATABASE_URL: h.db.url, SMTP_URL: h.sink.url, RATE_LIMITS: 'off', RESET_THROTTLE_SECONDS: '0' };
  });
  afterAll(() => h?.close());

  // A 404 whose logged URL is ~12 KB: 1,000 of them are ~12 MB of log lines.
  const bigLine = (app: RawApp, i: number) =>
    fetch(`${app.url}/no-such-page?n=${i}&pad=${'x'.repeat(12_000)}`).then(async (r) => (await r.arrayBuffer(), r.status));

  it('SIGTERM with a reset email retrying, then the log reader goes away: exits within 11 s', async () => {
    const app = await spawnApp(env, 'pipe');
    let out = '';
    app.child.stdout!.on('data', (chunk) => (out += chunk));
    expect((await client(app).post('/api/users/forgot-password', { email: alice.email })).status).toBe(202);
    // Whatever words the mailer uses: a warning or error about mail means the email is failing.
    await until(() => /"level":[45]0[^\n]*mail/i.test(out), 'a failed email to be logged', 30_000);

    const stopped = app.terminate();
    app.child.stdout!.destroy(); // the reader is gone: every later write is EPIPE
    app.child.stderr!.destroy();
    const exit = await stopped;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(EXIT_WITHIN_MS);
    console.log(`[deploy] SIGTERM with mail retrying and the log reader gone: exit 0 after ${exit.ms} ms`);
  });

  it('a reader that never reads (a full pipe): answers keep coming, then SIGTERM exits within 11 s', async () => {
    const app = await spawnApp(env, 'pipe'); // nothing ever reads its stdout
    expect((await client(app).post('/api/users/forgot-password', { email: alice.email })).status).toBe(202);
    const statuses = await burst(500, 8, (i) => bigLine(app, i)); // ~6 MB: far beyond a pipe's 64 KB
    expect(new Set(statuses)).toEqual(new Set([404]));

    const exit = await app.terminate();
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(EXIT_WITHIN_MS);
    console.log(`[deploy] SIGTERM with a full log pipe: exit 0 after ${exit.ms} ms`);
  });

  it(`a stalled reader during a burst: every request answered, memory grows less than ${STALLED_READER_GROWTH_MIB} MiB, dropped lines counted`, async () => {
    const app = await spawnApp(env, 'pipe');
    await burst(STALLED_READER_REQUESTS / 2, 8, (i) => bigLine(app, i)); // the heap grows to its working size; the pipe fills
    const before = rssMiB(app.child.pid!);

    let slowest = 0;
    let done = false;
    const probing = (async () => {
      while (app.child.exitCode === null && !done) {
        const started = Date.now();
        expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
        slowest = Math.max(slowest, Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const statuses = await burst(STALLED_READER_REQUESTS / 2, 8, (i) => bigLine(app, i));
    done = true;
    await probing;
    const after = rssMiB(app.child.pid!);
    expect(statuses.filter((s) => s !== 404)).toEqual([]);
    expect(after - before).toBeLessThan(STALLED_READER_GROWTH_MIB);
    expect(after).toBeLessThan(STALLED_READER_RSS_MIB);
    console.log(
      `[deploy] stalled log reader, 3,000 more requests (~36 MB of log): RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB ` +
        `(log buffer bound ${LOG_BUFFER_BYTES / 1024 / 1024} MiB), slowest /healthz ${slowest} ms`,
    );

    // The reader comes back: the process says how many lines it had to drop, then stops normally.
    let out = '';
    app.child.stdout!.on('data', (chunk) => (out += chunk));
    await fetch(`${app.url}/no-such-page`);
    await until(() => out.includes('log lines dropped'), 'the dropped-lines notice', 30_000);
    const notice = JSON.parse(out.split('\n').find((line) => line.includes('log lines dropped'))!);
    expect(notice.dropped).toBeGreaterThan(STALLED_READER_REQUESTS - LINES_THAT_MAY_WAIT);
    const exit = await app.terminate();
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(out).toContain('"msg":"stopped"');
  });

  it('logs to a file: exits 0 with everything written; to a full disk (/dev/full): exits 0 within 11 s', async () => {
    const file = join(tmpdir(), `inkwell-log-${process.pid}-${Date.now()}.jsonl`);
    const fd = openSync(file, 'w');
    const toFile = await spawnApp(env, fd);
    closeSync(fd);
    await burst(50, 4, (i) => bigLine(toFile, i));
    const fileExit = await toFile.terminate();
    expect({ code: fileExit.code, signal: fileExit.signal }).toEqual({ code: 0, signal: null });
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line).msg);
    expect(lines.filter((msg) => msg === 'request completed').length).toBeGreaterThanOrEqual(50);
    expect(lines.at(-1)).toBe('stopped');
    rmSync(file, { force: true });

    const full = openSync('/dev/full', 'w');
    const toFullDisk = await spawnApp(env, full);
    closeSync(full);
    expect((await client(toFullDisk).post('/api/users/forgot-password', { email: alice.email })).status).toBe(202);
    expect(new Set(await burst(50, 4, (i) => bigLine(toFullDisk, i)))).toEqual(new Set([404]));
    const fullExit = await toFullDisk.terminate();
    expect({ code: fullExit.code, signal: fullExit.signal }).toEqual({ code: 0, signal: null });
    expect(fullExit.ms).toBeLessThan(EXIT_WITHIN_MS);
    console.log(`[deploy] SIGTERM logging to /dev/full: exit 0 after ${fullExit.ms} ms`);
  });
});
