// picture: what a profile-picture upload costs the server. `uploads_per_s`: one client uploading a
// 12 MP phone-sized JPEG (about 2.7 MiB) again and again, each answered before the next is sent.
// `rss_peak_mb`: the server's resident-set high-water mark (VmHWM) while 20 clients upload at once.
// Bound: at most 12 uploads are held at a time (6 bodies being read, 1 decoding, 5 waiting; more are
// answered 503 unread), so the burst may raise RSS by 12 × 5 MiB plus one decode and allocator slack:
// at most RSS_BOUND_MB over the RSS just before the burst.
import { readFileSync, writeFileSync } from 'node:fs';
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { BENCH_PASSWORD, emailOf, insertUsers } from '../lib/database.ts';
import { round } from '../lib/stats.ts';
import { photoJpeg } from '../../test/support/images.ts';

const CLIENTS = 20;
const SEQUENTIAL = 15;
const RSS_BOUND_MB = 100;

export async function picture(ctx: Context): Promise<Outcome> {
  const url = await ctx.databases.create('picture');
  await insertUsers(url, 1, CLIENTS, ctx.passwordHash);
  const photo = await photoJpeg(12);
  // Production, behind a TLS proxy as it would be (the session cookie is Secure): the client says https.
  const app = await launchApp(ctx, url, 'picture', false, { TRUST_PROXY: 'loopback' });
  try {
    const cookies: string[] = [];
    for (let i = 1; i <= CLIENTS; i++) cookies.push(await logIn(app.origin, emailOf(i)));
    const put = async (cookie: string) => {
      const form = new FormData();
      form.append('picture', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), 'photo.jpg');
      const res = await fetch(`${app.origin}/api/users/me/picture`, { method: 'PUT', body: form, headers: { cookie, 'x-forwarded-proto': 'https' } });
      await res.arrayBuffer();
      return res.status;
    };
    const idle = rssMb(app.child.pid!);
    if ((await put(cookies[0])) !== 200) throw new Error('picture: the warm-up upload was refused');

    const started = performance.now();
    for (let i = 0; i < SEQUENTIAL; i++) {
      const status = await put(cookies[i % CLIENTS]);
      if (status !== 200) throw new Error(`picture: upload ${i} answered ${status}`);
    }
    const uploadsPerS = SEQUENTIAL / ((performance.now() - started) / 1000);
    ctx.say(`picture: ${fixed(uploadsPerS, 2)} uploads/s, one at a time (${(photo.length / 1048576).toFixed(1)} MiB, 12 MP)`);

    // The high-water mark restarts from the current RSS, so the peak below is the burst's own.
    const before = resetPeakRss(app.child.pid!);
    const burstStart = performance.now();
    const statuses = await Promise.all(cookies.map(put));
    const burstS = (performance.now() - burstStart) / 1000;
    const peak = peakRssMb(app.child.pid!);
    const count = (status: number) => statuses.filter((s) => s === status).length;
    const unexpected = statuses.filter((s) => s !== 200 && s !== 503);
    if (unexpected.length) throw new Error(`picture: burst answered ${unexpected.join(', ')}`);
    ctx.say(`picture: burst of ${CLIENTS}: ${count(200)} stored, ${count(503)} told to retry, ${fixed(burstS, 2)} s; RSS idle ${idle}, before ${before}, peak ${peak} MB`);
    const result = {
      photo_mib: round(photo.length / 1048576, 2),
      uploads_per_s: round(uploadsPerS, 2),
      burst_clients: CLIENTS,
      burst_stored: count(200),
      burst_busy: count(503),
      burst_seconds: round(burstS, 2),
      rss_idle_mb: idle,
      rss_before_burst_mb: before,
      rss_peak_mb: peak,
      rss_growth_mb: peak - before,
      rss_growth_bound_mb: RSS_BOUND_MB,
    };
    return {
      results: { picture: result },
      rows: [
        ['picture: uploads/s of a 12 MP JPEG (one client)', fixed(result.uploads_per_s, 2), '', null],
        [`picture: ${CLIENTS} at once: stored / told to retry (503)`, `${result.burst_stored} / ${result.burst_busy}`, '', null],
        [`picture: RSS high-water during ${CLIENTS} at once, MB (growth)`, `${peak} (+${result.rss_growth_mb})`, `+<= ${RSS_BOUND_MB}`, result.rss_growth_mb <= RSS_BOUND_MB],
      ],
    };
  } finally {
    await app.stop();
  }
}

async function logIn(origin: string, email: string): Promise<string> {
  const res = await fetch(`${origin}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
    body: JSON.stringify({ email, password: BENCH_PASSWORD }),
  });
  const cookie = res.headers.getSetCookie()[0]?.split(';')[0];
  if (res.status !== 200 || !cookie) throw new Error(`picture: login answered ${res.status}`);
  return cookie;
}

const status = (pid: number, field: string) =>
  Math.round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024);

/** The process's resident-set high-water mark (VmHWM), in MB. */
const peakRssMb = (pid: number) => status(pid, 'VmHWM');
const rssMb = (pid: number) => status(pid, 'VmRSS');

/** Restarts the high-water mark from the current RSS (Linux: `5` to /proc/PID/clear_refs); returns that RSS. */
function resetPeakRss(pid: number): number {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  return rssMb(pid);
}
