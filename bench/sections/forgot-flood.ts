// forgot_flood: many forgot-password requests at once, for distinct accounts; does every accepted one
// end as an email at the (real, local) SMTP server?
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { emailOf, insertUsers } from '../lib/database.ts';
import { sleep } from '../lib/processes.ts';
import { percentile, round } from '../lib/stats.ts';

const REQUESTS = 1_000;
// Mail is now retried for a day (src/jobs/runner.ts), so this bounds only how long the count waits: on an
// idle machine the queue drains in well under a minute; on a shared, loaded one it can take minutes.
const DELIVERY_BOUND_S = 300;

export async function forgotFlood(ctx: Context): Promise<Outcome> {
  const url = await ctx.databases.create('forgot_flood');
  await insertUsers(url, 1, REQUESTS, ctx.passwordHash);
  // A thousand people at once reach the app through its proxy (one hop, TRUST_PROXY=1), each from
  // their own address: straight from one address, all but 100 connections would be turned away
  // (the per-address connection cap, src/web/server.ts), as a flood from one place should be.
  const app = await launchApp(ctx, url, 'forgot_flood', true, { TRUST_PROXY: '1' });
  const alreadyReceived = (await ctx.sink.recipients()).length;
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const accepted = new Set<string>();
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let delivered = 0;
  let drainS = NaN;
  const started = performance.now();
  try {
    await app.resetProbe();
    await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const email = emailOf(i + 1);
        const { status, ms } = await post(agent, app.origin, email, `10.0.${i >> 8}.${i & 255}`);
        statuses[status] = (statuses[status] ?? 0) + 1;
        latencies.push(ms);
        if (status === '202') accepted.add(email);
      }),
    );
    const answeredS = (performance.now() - started) / 1000;
    ctx.say(`forgot_flood: ${accepted.size} accepted in ${answeredS.toFixed(1)} s; waiting for mail`);
    const deadline = performance.now() + DELIVERY_BOUND_S * 1000;
    while (performance.now() < deadline) {
      const arrived = new Set((await ctx.sink.recipients()).slice(alreadyReceived));
      delivered = [...accepted].filter((email) => arrived.has(email)).length;
      if (delivered === accepted.size) break;
      await sleep(250);
    }
    drainS = (performance.now() - started) / 1000;
    const server = await app.report();
    await app.stop();
    const log = readFileSync(join(ctx.dir, 'forgot_flood.log'), 'utf8');
    const countLog = (msg: string) => log.split('\n').filter((line) => line.includes(`"msg":"${msg}"`)).length;
    const result = {
      requests: REQUESTS,
      statuses,
      accepted: accepted.size,
      delivered,
      lost_emails: accepted.size - delivered,
      answer_p50_ms: round(percentile(latencies, 50), 1),
      answer_p99_ms: round(percentile(latencies, 99), 1),
      all_answered_s: round(answeredS, 2),
      all_delivered_s: round(drainS, 2),
      failed_background_tasks: countLog('job failed; will retry') + countLog('claiming jobs failed; will try again'),
      mail_retries: countLog('mail not sent; will retry'),
      mail_given_up: countLog('mail not sent; giving up'),
      event_loop_p99_ms: server.event_loop_delay_ms.p99,
      rss_mb_peak: server.rss_mb_peak,
    };
    return {
      results: { forgot_flood: result },
      rows: [
        [`forgot_flood: lost emails (of ${result.accepted} accepted)`, String(result.lost_emails), '0', result.lost_emails === 0 && result.accepted === REQUESTS],
        ['forgot_flood: all answered / all delivered s', `${fixed(result.all_answered_s)} / ${fixed(result.all_delivered_s)}`, '', null],
        ['forgot_flood: failed tasks / mail retries', `${result.failed_background_tasks} / ${result.mail_retries}`, '', null],
      ],
    };
  } finally {
    agent.destroy();
    await app.stop();
  }
}

function post(agent: http.Agent, origin: string, email: string, client: string): Promise<{ status: string; ms: number }> {
  const body = new URLSearchParams({ email }).toString();
  return new Promise((resolve) => {
    const start = performance.now();
    const req = http.request(
      `${origin}/forgot-password`,
      {
        agent,
        method: 'POST',
        timeout: 60_000,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), 'x-forwarded-for': client },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: String(res.statusCode), ms: performance.now() - start }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ status: (err as NodeJS.ErrnoException).code ?? err.message, ms: performance.now() - start }));
    req.end(body);
  });
}
