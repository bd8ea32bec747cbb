// topology: the deployed shape (docs/instances.md) on this machine: requests per second of the feed
// and of login through Caddy to 1, 2 and 3 instances on Postgres through PgBouncer, and the latency of
// the feed during a rolling restart of all three. Everything shares the machine's cores: the load
// generator, Caddy, every instance, PgBouncer and Postgres, so more instances cannot add CPU here.
import autocannon from 'autocannon';
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { BENCH_PASSWORD, emailOf, insertPosts, insertUsers } from '../lib/database.ts';
import type { App } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';
import { postgresAvailable, startCluster, withClient } from '../../test/support/postgres.ts';
import { startCaddy, startPgBouncer, topologyMissing } from '../../test/support/topology.ts';

const SECONDS = 4;
const ROUNDS = 3;
const WARMUP_S = 1;
const CONNECTIONS = 16;
const USERS = 200;
// The rolling restart's load: a steady trickle a real site might see, not a flood, so p99 shows the restart.
const ROLLING_CONNECTIONS = 4;

type Rates = { feed_rps: number; login_rps: number; login_refused: number };

export async function topology(ctx: Context): Promise<Outcome> {
  const missing = [topologyMissing(), postgresAvailable() ? '' : 'PostgreSQL'].filter(Boolean).join(' and ');
  if (missing) return { results: { topology: { skipped: `${missing} not installed` } }, rows: [['topology', `skipped: ${missing} not installed`, '', null]] };

  const cluster = await startCluster();
  const bouncer = await startPgBouncer(cluster.url);
  try {
    await withClient(cluster.url, (c) => c.query('create database topology'));
    const directUrl = cluster.url.replace(/\/[^/]*$/, '/topology');
    await insertUsers(directUrl, 1, USERS, ctx.passwordHash);
    await insertPosts(directUrl, 20, 10);
    const env = { TRUST_PROXY: '1', RATE_LIMITS: 'off' };
    const pooledUrl = bouncer.urlFor(directUrl);

    // Every shape up at once (three instances; a Caddy in front of the first one, two and three), measured
    // in alternating rounds and reported as medians: load from other work hits every shape alike.
    const apps = await Promise.all([0, 1, 2].map((i) => launchApp(ctx, pooledUrl, `topology_${i}`, false, env)));
    const caddies = await Promise.all([1, 2, 3].map((n) => startCaddy(apps.slice(0, n).map((app) => `127.0.0.1:${app.port}`))));
    const samples = [1, 2, 3].map(() => ({ feed: [] as number[], login: [] as number[], refused: 0 }));
    let rolling: Awaited<ReturnType<typeof rollingRestart>>;
    try {
      for (const caddy of caddies) await load(`${caddy.url}/`, WARMUP_S, CONNECTIONS);
      for (let round = 0; round < ROUNDS; round++) {
        for (const i of round % 2 === 0 ? [0, 1, 2] : [2, 1, 0]) {
          const feed = await load(`${caddies[i].url}/`, SECONDS, CONNECTIONS);
          const login = await load(`${caddies[i].url}/login`, SECONDS, CONNECTIONS, loginRequest());
          samples[i].feed.push(feed.rps);
          samples[i].login.push(login.rps);
          samples[i].refused += login.refused;
        }
        ctx.say(`topology round ${round + 1}: feed ${samples.map((s) => s.feed.at(-1)!.toFixed(0)).join(' / ')}, login ${samples.map((s) => s.login.at(-1)!.toFixed(1)).join(' / ')} req/s (1 / 2 / 3 instances)`);
      }
      rolling = await rollingRestart(ctx, apps, caddies[2].url, pooledUrl, env);
    } finally {
      await Promise.all(caddies.map((caddy) => caddy.stop()));
      await Promise.all(apps.map((app) => app.stop()));
    }
    const byInstances: Record<string, Rates> = {};
    samples.forEach((s, i) => (byInstances[i + 1] = { feed_rps: Math.round(median(s.feed)), login_rps: round(median(s.login), 1), login_refused: s.refused }));
    const r = rolling;
    const rates = (key: keyof Rates) => [1, 2, 3].map((n) => byInstances[n][key]).join(' / ');
    // Two cores bound every figure here: see docs/benchmarks.md before reading them as scaling.
    return {
      results: { topology: { connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, instances: byInstances, rolling_restart: r } },
      rows: [
        ['topology: feed req/s through Caddy (1 / 2 / 3 instances)', rates('feed_rps'), '', null],
        ['topology: login req/s through Caddy (1 / 2 / 3 instances)', rates('login_rps'), '', null],
        ['topology: feed p99 ms, steady / during a rolling restart', `${fixed(r.steady_p99_ms)} / ${fixed(r.rolling_p99_ms)}`, '', null],
        ['topology: failed requests during the rolling restart', `${r.failed} of ${r.requests}`, '0', r.failed === 0],
      ],
    };
  } finally {
    await bouncer.stop();
    cluster.stop();
  }
}

/**
 * A steady feed load through Caddy, first as is, then while each instance in turn is stopped (SIGTERM:
 * it drains) and started again on its port, waiting for it to be ready before the next.
 */
async function rollingRestart(ctx: Context, apps: App[], caddyUrl: string, databaseUrl: string, env: Record<string, string>) {
  const steady = await load(`${caddyUrl}/`, 2 * SECONDS, ROLLING_CONNECTIONS);
  const started = performance.now();
  let restarted = 0;
  const during = load(`${caddyUrl}/`, 0, ROLLING_CONNECTIONS, undefined, async () => {
    for (let i = 0; i < apps.length; i++) {
      const port = apps[i].port;
      await apps[i].stop();
      apps[i] = await launchApp(ctx, databaseUrl, `topology_rolling_${i}`, false, { ...env, PORT: String(port) });
      // Caddy's next check (every 1 s) puts it back; wait for that before stopping the next.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      restarted++;
    }
  });
  const result = await during;
  const seconds = (performance.now() - started) / 1000;
  ctx.say(`topology: rolling restart of ${restarted} instances in ${seconds.toFixed(1)} s: p99 ${result.p99} ms, ${result.failed} failed of ${result.requests}`);
  return {
    steady_p99_ms: steady.p99,
    rolling_p99_ms: result.p99,
    rolling_max_ms: result.max,
    requests: result.requests,
    failed: result.failed,
    seconds: round(seconds, 1),
  };
}

function loginRequest(): autocannon.Request[] {
  let sent = 0;
  return [
    {
      method: 'POST',
      path: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      setupRequest: (request) => {
        const i = sent++;
        // Half right, half wrong: both pay one argon2 verification, as in login_flood.
        const password = i % 2 === 0 ? BENCH_PASSWORD : 'not the right password';
        return { ...request, body: new URLSearchParams({ email: emailOf(1 + (i % USERS)), password }).toString() };
      },
    },
  ];
}

/**
 * autocannon against `url` for `seconds`, or until `until` resolves; req/s, p99 and failures (errors,
 * timeouts and 5xx; a login's 401 or 303 is an answer).
 */
async function load(url: string, seconds: number, connections: number, requests?: autocannon.Request[], until?: () => Promise<void>) {
  let instance: autocannon.Instance | undefined;
  let fivexx = 0;
  const statuses: Record<number, number> = {};
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({ url, connections, duration: until ? 3_600 : seconds, requests }, (err, result) => (err ? reject(err) : resolve(result)));
    instance.on('response', (_client, statusCode) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (statusCode >= 500) fivexx++;
    });
  });
  if (until) {
    await until();
    instance!.stop();
  }
  const result = await done;
  return {
    // Answers only: a login refused with 503 (the hashing queue full) is not a login served.
    rps: (result.requests.total - fivexx) / result.duration,
    refused: fivexx,
    statuses,
    p99: result.latency.p99,
    max: result.latency.max,
    requests: result.requests.total,
    failed: result.errors + result.timeouts + fivexx,
  };
}
