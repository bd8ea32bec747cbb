// The limits around a picture upload, against a real Inkwell process: bodies over 5 MiB are answered
// 413 while they are still arriving, and the server's memory does not grow by them. Also the
// per-account limit. On both databases.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startApp, type AppProcess } from '../support/app-process.ts';
import { createDatabase, dialects, registeredUser, startHarness, STRONG_PASSWORD, type Harness, type TestDatabase } from '../support/harness.ts';
import { plain, streamUpload } from '../support/images.ts';
import { signUpThroughEmail } from '../support/sign-up.ts';
import { startSmtpSink, type Sink } from '../support/smtp.ts';

const MiB = 1024 * 1024;

/** A field of /proc/PID/status in bytes: VmHWM is the resident set's high-water mark, VmRSS the current one. */
function memory(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** Restarts the high-water mark from the current resident set (Linux: `5` to /proc/PID/clear_refs), and returns that. */
function resetPeak(pid: number): number {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  return memory(pid, 'VmRSS');
}

describe.each(dialects())('picture upload limits on %s', (dialect) => {
  let db: TestDatabase;
  let sink: Sink;
  let app: AppProcess;
  let cookie: string;
  beforeAll(async () => {
    db = await createDatabase(dialect);
    sink = await startSmtpSink();
    app = await startApp({
      NODE_ENV: 'test', DATABASE_URL: db.url, APP_BASE_URL: 'http://127.0.0.1', SMTP_URL: sink.url, RATE_LIMITS: 'off',
      SESSION_SECRET: 'a test secret that is long enough to pass the check',
    });
    const c = client(app);
    const confirmed = await signUpThroughEmail(c, sink, { username: 'big', email: 'big@example.com', password: STRONG_PASSWORD });
    expect(confirmed.status).toBe(201);
    cookie = c.cookie;
  });
  afterAll(async () => {
    await app?.stop();
    await sink?.stop();
    await db?.drop();
  });

  it('answers 413 to 6 MiB and 50 MiB bodies before they have arrived, without the memory growing by the body', async () => {
    const url = `${app.url}/api/users/me/picture`;
    // Warm up the route (and the image code) with a real upload, so what follows measures the bodies only.
    const form = new FormData();
    form.append('picture', new Blob([new Uint8Array(await plain(400, 300).jpeg().toBuffer())]), 'warm.jpg');
    const warm = await fetch(url, { method: 'PUT', body: form, headers: { cookie } });
    expect(warm.status).toBe(200);
    const before = resetPeak(app.child.pid!);

    // Declared up front: refused before a byte of the body is read.
    const declared = await streamUpload(url, cookie, 6 * MiB, { declareLength: true });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error.code).toBe('too_large');
    // Sent without a length: counted as it arrives, and refused just past the limit.
    for (const size of [6 * MiB, 50 * MiB]) {
      const streamed = await streamUpload(url, cookie, size);
      expect(streamed.status, `${size / MiB} MiB`).toBe(413);
      expect(JSON.parse(streamed.body).error.code).toBe('too_large');
      // Answered while the body was still arriving (multer alone answers after draining all 50 MiB).
      if (size === 50 * MiB) expect(streamed.sentWhenAnswered, 'bytes sent before the answer').toBeLessThan(40 * MiB);
    }
    const big = await streamUpload(url, cookie, 50 * MiB, { declareLength: true });
    expect(big.status).toBe(413);
    expect(big.sentWhenAnswered, 'bytes sent before the answer').toBeLessThan(40 * MiB);

    // A buffered 50 MiB body would have raised the high-water mark by 50 MiB at least; dropped bytes
    // waiting for the garbage collector account for some (26 MiB once on a saturated CI machine).
    const growth = memory(app.child.pid!, 'VmHWM') - before;
    expect(growth, `high-water mark grew by ${(growth / MiB).toFixed(1)} MiB`).toBeLessThan(40 * MiB);
    // And the server is fine afterwards.
    expect((await client(app, cookie).get('/api/users/me')).body.user.picture_url).toMatch(/^\/media\//);
  });
});

describe.each(dialects())('the per-account picture limit on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { RATE_LIMITS: 'on' } });
  });
  afterAll(() => h.close());

  it('allows 20 changes an hour per account, whatever the network, and then answers 429; other accounts are not affected', async () => {
    const alice = await registeredUser(h, 'alice');
    const bob = await registeredUser(h, 'bob');
    for (let i = 0; i < 20; i++) await alice.agent.delete('/api/users/me/picture').expect(204);
    const refused = await alice.agent.put('/api/users/me/picture').attach('picture', await plain(50, 50).png().toBuffer(), 'a.png');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(refused.headers['retry-after']).toBeDefined();
    await bob.agent.put('/api/users/me/picture').attach('picture', await plain(50, 50).png().toBuffer(), 'b.png').expect(200);
  });
});
