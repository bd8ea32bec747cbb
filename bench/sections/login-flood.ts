// login_flood: logins (right and wrong passwords) as fast as they come, while a slow prober checks
// that /healthz and a static file still answer promptly.
import autocannon from 'autocannon';
import { hashPassword } from '../../src/accounts/passwords.ts';
import { cpuPressure, cpuSeconds } from '../lib/cpu.ts';
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { BENCH_PASSWORD, emailOf, insertUsers } from '../lib/database.ts';
import { connect, probeUntil, type Timed } from '../lib/http.ts';
import { sleep } from '../lib/processes.ts';
import { median, percentile, round } from '../lib/stats.ts';

const USERS = 200;
// Far more than can hash at once, so logins queue: the flood is bounded by time, not by clients.
const CONNECTIONS = 24;
const SECONDS = 15;
const HEALTHZ_EVERY_MS = 50;
const STATIC_EVERY_MS = 100;
const HASH_SAMPLES = 8;
// /healthz alone first, in the same run: what the machine gives when the app is idle.
const IDLE_PROBE_S = 5;

export async function loginFlood(ctx: Context): Promise<Outcome> {
  const url = await ctx.databases.create('login_flood');
  await insertUsers(url, 1, USERS, ctx.passwordHash);
  const hashes = await timeHashes(HASH_SAMPLES);
  const app = await launchApp(ctx, url, 'login_flood');
  const health = connect(app.origin);
  const statics = connect(app.origin);
  try {
    // Warm up the login path (compilation, the session store) before anything is measured.
    await health.send('POST', '/login', { email: emailOf(1), password: BENCH_PASSWORD });
    const idle = await probeUntil(sleep(IDLE_PROBE_S * 1000), HEALTHZ_EVERY_MS, () => checked(health.send('GET', '/healthz')));
    await app.resetProbe();
    const pressure = cpuPressure();
    const cpuBefore = cpuSeconds(app.child.pid);
    let sent = 0;
    const answeredAt: number[] = [];
    const floodStart = performance.now();
    // The callback form returns the running instance, whose 'response' events give throughput over time.
    const flood = new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon({
        url: app.origin,
        connections: CONNECTIONS,
        duration: SECONDS,
        requests: [
          {
            method: 'POST',
            path: '/login',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            setupRequest: (request) => {
              const i = sent++;
              const password = i % 2 === 0 ? BENCH_PASSWORD : 'not the right password';
              return { ...request, body: new URLSearchParams({ email: emailOf(1 + (i % USERS)), password }).toString() };
            },
          },
        ],
      }, (err, result) => (err ? reject(err) : resolve(result)));
      instance.on('response', () => answeredAt.push(performance.now()));
    });
    const [result, healthz, files] = await Promise.all([
      flood,
      probeUntil(flood, HEALTHZ_EVERY_MS, () => checked(health.send('GET', '/healthz'))),
      probeUntil(flood, STATIC_EVERY_MS, () => checked(statics.send('GET', '/static/style.css'))),
    ]);
    const stalled = pressure();
    const cpuAfter = cpuSeconds(app.child.pid);
    const server = await app.report();
    // autocannon stops at the deadline, but the app still hashes the logins it had queued (about
    // CONNECTIONS of them); sample argon2 again only once those are done, or they would compete.
    await sleep(((CONNECTIONS * median(hashes)) / ctx.cores) * 2 + 500);
    hashes.push(...(await timeHashes(HASH_SAMPLES)));

    const codes = result.statusCodeStats ?? {};
    const count = (code: string) => codes[code as `${number}`]?.count ?? 0;
    const answered = Object.values(codes).reduce((sum, c) => sum + (c.count ?? 0), 0);
    // 503: refused because the wait for argon2 would have passed MAX_HASHING_WAIT_MS (docs/limits.md).
    const unexpected = answered - count('303') - count('401') - count('503');
    if (unexpected > 0 || result.errors > 0) throw new Error(`login flood: ${unexpected} unexpected answers, ${result.errors} errors (${result.timeouts} timeouts)`);

    const argon2Ms = median(hashes);
    const hashed = count('303') + count('401');
    const loginsPerS = hashed / result.duration;
    const efficiency = loginsPerS / ((ctx.cores * 1000) / argon2Ms);
    const poolThreads = server.threads_now - server.threads_at_start;
    // The app's CPU (all threads) per answered login: argon2 plus what the event loop spends on it.
    const cpuMsPerLogin = cpuBefore === null || cpuAfter === null ? null : round(((cpuAfter - cpuBefore) * 1000) / hashed, 1);
    const flood_ = {
      argon2_ms: round(argon2Ms, 1),
      logins_per_s: round(loginsPerS, 1),
      efficiency: round(efficiency, 3),
      healthz_p99_ms: round(percentile(healthz.map((t) => t.ms), 99), 1),
      healthz_p50_ms: round(percentile(healthz.map((t) => t.ms), 50), 2),
      healthz_samples: healthz.length,
      healthz_idle_p99_ms: round(percentile(idle.map((t) => t.ms), 99), 1),
      healthz_idle_p50_ms: round(percentile(idle.map((t) => t.ms), 50), 2),
      static_p99_ms: round(percentile(files.map((t) => t.ms), 99), 1),
      static_samples: files.length,
      event_loop_p99_ms: server.event_loop_delay_ms.p99,
      event_loop_max_ms: server.event_loop_delay_ms.max,
      rss_mb_peak: server.rss_mb_peak,
      server_cpu_ms_per_login: cpuMsPerLogin,
      event_loop_utilization: server.event_loop_utilization,
      // The event loop's CPU per login: what a login costs besides argon2, which runs off the loop.
      main_thread_cpu_ms_per_login: round(server.main_thread_cpu_ms / hashed, 2),
      login_latency_ms: { p50: result.latency.p50, p99: result.latency.p99 },
      answers: { '303': count('303'), '401': count('401'), '503': count('503') },
      connections: CONNECTIONS,
      seconds: SECONDS,
      cores: ctx.cores,
      // Linux PSI: share of the flood during which some task on the machine waited for a CPU.
      cpu_pressure: stalled === null ? null : round(stalled, 2),
      libuv_pool_threads: poolThreads,
      uv_threadpool_size: server.uv_threadpool_size,
    };
    const seconds = Math.ceil(result.duration);
    const perSecond = Array.from({ length: seconds }, (_, second) => ({
      second,
      logins: answeredAt.filter((at) => at - floodStart >= second * 1000 && at - floodStart < (second + 1) * 1000).length,
    }));
    return {
      results: { login_flood: flood_ },
      figures: {
        login_flood: {
          throughput: perSecond,
          healthz: healthz.map((t) => ({ at_s: (t.at - floodStart) / 1000, ms: t.ms })),
          healthz_target_ms: 50,
          idle_healthz_p99_ms: flood_.healthz_idle_p99_ms,
          capacity_per_s: (ctx.cores * 1000) / argon2Ms,
        },
      },
      rows: [
        ['login_flood: argon2 ms (one hash)', fixed(flood_.argon2_ms), '', null],
        ['login_flood: logins/s', fixed(flood_.logins_per_s), '', null],
        ['login_flood: refused 503 (argon2 queue full)', String(count('503')), 'report', null],
        ['login_flood: efficiency', fixed(flood_.efficiency, 2), '>= 0.8', flood_.efficiency >= 0.8],
        ['login_flood: app CPU ms per login (all threads)', cpuMsPerLogin === null ? 'n/a' : fixed(cpuMsPerLogin), '', null],
        ['login_flood: event-loop thread CPU ms per login', fixed(flood_.main_thread_cpu_ms_per_login, 2), '', null],
        ['login_flood: /healthz p99 ms', fixed(flood_.healthz_p99_ms), '< 50', flood_.healthz_p99_ms < 50],
        ['login_flood: /healthz p99 ms, app idle (same run)', fixed(flood_.healthz_idle_p99_ms), '', null],
        ['login_flood: static file p99 ms', fixed(flood_.static_p99_ms), '', null],
        ['login_flood: event loop delay p99 ms', fixed(flood_.event_loop_p99_ms), '', null],
        ['login_flood: peak RSS MB', String(flood_.rss_mb_peak), '', null],
        ['login_flood: CPU pressure (PSI some)', flood_.cpu_pressure === null ? 'n/a' : fixed(flood_.cpu_pressure, 2), '', null],
        ['login_flood: libuv pool threads', `${poolThreads} (UV_THREADPOOL_SIZE ${server.uv_threadpool_size ?? 'unset'})`, '', null],
      ],
    };
  } finally {
    health.close();
    statics.close();
    await app.stop();
  }
}

async function timeHashes(count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await hashPassword(BENCH_PASSWORD);
    times.push(performance.now() - start);
  }
  return times;
}

async function checked(answer: Promise<Timed>): Promise<Timed> {
  const timed = await answer;
  if (timed.status !== 200) throw new Error(`prober got ${timed.status}`);
  return timed;
}
