// Many instances for real (issue 27): three Inkwell processes behind Caddy (deploy/Caddyfile) on
// Postgres through PgBouncer in transaction mode (deploy/pgbouncer/profile.ini), all on loopback.
// Its own Postgres cluster, so the outage below stops nobody else's database.
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, startApp, type AppProcess } from '../support/app-process.ts';
import { until } from '../support/net.ts';
import { postgresAvailable, startCluster, withClient, type Cluster } from '../support/postgres.ts';
import { signUpThroughEmail } from '../support/sign-up.ts';
import { recipients, resetLinkIn, startSmtpSink, tokenOf, type Sink } from '../support/smtp.ts';
import { startCaddy, startPgBouncer, topologyMissing, type Caddy, type PgBouncer } from '../support/topology.ts';

const missing = topologyMissing();
// CI installs both and sets this: there a missing binary is a failure, not a skip.
const required = process.env.REQUIRE_TOPOLOGY === '1';
if (missing && !required) console.log(`[inkwell] Topology: SKIPPED — ${missing} not installed (apt-get install pgbouncer caddy).`);

const HEALTH_INTERVAL_MS = 1_000; // deploy/Caddyfile's health_interval
const PASSWORD = 'correct horse battery staple';

describe.skipIf(!postgresAvailable() || (missing !== '' && !required))('three instances behind Caddy and PgBouncer', () => {
  let cluster: Cluster;
  let bouncer: PgBouncer;
  let caddy: Caddy;
  let sink: Sink;
  let directUrl: string;
  let apps: AppProcess[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    if (missing) throw new Error(`REQUIRE_TOPOLOGY=1 but ${missing} is not installed (apt-get install pgbouncer caddy)`);
    cluster = await startCluster();
    await withClient(cluster.url, (c) => c.query('create database inkwell'));
    directUrl = cluster.url.replace(/\/[^/]*$/, '/inkwell');
    bouncer = await startPgBouncer(cluster.url);
    sink = await startSmtpSink();
    env = {
      // Plain HTTP between the test and Caddy, so not production's Secure cookies; everything else as deployed.
      NODE_ENV: 'test',
      DATABASE_URL: bouncer.urlFor(directUrl),
      SMTP_URL: sink.url,
      APP_BASE_URL: 'https://inkwell.test',
      SESSION_SECRET: 'a-test-secret-that-is-long-enough-0123456789',
      TRUST_PROXY: '1',
      DRAIN_SECONDS: '3',
    };
  });
  afterAll(async () => {
    for (const app of apps) if (app.child.exitCode === null && app.child.signalCode === null) await app.stop('SIGKILL');
    await caddy?.stop();
    await bouncer?.stop();
    await sink?.stop();
    cluster?.stop();
  });

  it('three instances started at once on a fresh database migrate it once, through PgBouncer, and leave no lock', async () => {
    apps = await Promise.all([startApp(env), startApp(env), startApp(env)]);
    expect(apps.filter((app) => app.messages().includes('migrations applied'))).toHaveLength(1);
    const files = readdirSync(new URL('../../migrations', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
    await withClient(directUrl, async (c) => {
      const { rows } = await c.query('select name from mikro_orm_migrations order by name');
      expect(rows.map((r) => r.name)).toEqual(files.sort());
      const locks = await c.query("select count(*)::int as n from pg_locks where locktype = 'advisory'");
      expect(locks.rows[0].n).toBe(0);
    });
    caddy = await startCaddy(apps.map((app) => new URL(app.url).host));
    // Caddy's first active checks have run: every instance is in rotation.
    await until(async () => (await Promise.all(Array.from({ length: 6 }, () => fetch(caddy.url + '/readyz')))).every((r) => r.ok), 'Caddy to see every instance ready');
  });

  it('requests through Caddy are spread over all three instances', async () => {
    const before = apps.map(requestsServed);
    for (let i = 0; i < 30; i++) expect((await fetch(caddy.url + '/api/posts')).status).toBe(200);
    const served = apps.map((app, i) => requestsServed(app) - before[i]);
    for (const count of served) expect(count).toBeGreaterThan(0);
    console.log(`[topology] 30 requests through Caddy: ${served.join(' / ')} per instance`);
  });

  it('a spoofed X-Forwarded-For neither hides the client nor escapes the per-IP limit', async () => {
    // The forgot-password limit: 5 per 15 minutes per address. Each request claims another address.
    const statuses: Array<number | string> = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(await post(caddy.url, '/api/users/forgot-password', { email: `nobody${i}@example.com` }, {
        localAddress: '127.0.0.2',
        headers: { 'x-forwarded-for': `203.0.113.${i + 1}` },
      }));
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
    // Another client is not limited by the first one's requests.
    expect(await post(caddy.url, '/api/users/forgot-password', { email: 'someone@example.com' }, { localAddress: '127.0.0.3' })).toBe(202);
    // Each answer's log line is written once it is sent.
    const logs = () => apps.map((app) => app.output()).join('');
    await until(() => logs().includes('"ip":"127.0.0.2"') && logs().includes('"ip":"127.0.0.3"'), 'the real client addresses in the request log');
    expect(logs()).not.toContain('203.0.113.');
  });

  // Recovery, limits and the outbox through PgBouncer: sign-up and reset emails, a reset that ends the
  // session on every instance, and the login limits (per email and per address) shared by all.
  it('smoke through PgBouncer: sign-up and reset by email, sessions ended everywhere, login limits shared', async () => {
    const alice = client(caddy);
    expect((await signUpThroughEmail(alice, sink, { username: 'alice', email: 'alice@example.com', password: PASSWORD })).status).toBe(201);
    expect((await alice.get('/api/users/me')).status).toBe(200);

    const seen = sink.messages.length;
    expect((await client(caddy).post('/api/users/forgot-password', { email: 'alice@example.com' })).status).toBe(202);
    const mail = await sink.waitFor((m) => sink.messages.indexOf(m) >= seen && recipients(m).includes('alice@example.com'));
    const reset = await client(caddy).post('/api/users/reset-password', { token: tokenOf(resetLinkIn(mail)), new_password: 'a brand new passphrase' });
    expect(reset.status).toBe(200);
    // Whichever instance each request reaches, the old session is gone.
    for (let i = 0; i < 3; i++) expect((await alice.get('/api/users/me')).status).toBe(401);

    const wrong = [];
    for (let i = 0; i < 11; i++) wrong.push((await client(caddy).post('/api/auth/login', { email: 'alice@example.com', password: `wrong ${i}` })).status);
    expect(wrong).toEqual([...Array(10).fill(401), 429]);
  });

  it('SIGKILL of one instance under load: only requests in flight at that moment fail, none after; Caddy stops routing there within a health interval', async () => {
    const victim = apps[2];
    const load = startLoad(() => fetch(caddy.url + '/api/posts').then((r) => r.status));
    await until(() => load.done >= 60, 'some load before the kill');
    const killedAt = Date.now();
    const inFlight = load.inFlight;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const mark = load.done;
    await until(() => load.done >= mark + 150, 'load after the kill');
    const result = await load.stop();
    const failedBefore = result.filter((r) => r.startedAt < killedAt && !r.ok).length;
    const failedAfter = result.filter((r) => r.startedAt >= killedAt && !r.ok);
    expect(failedBefore).toBeLessThanOrEqual(inFlight);
    expect(failedAfter).toEqual([]);
    // Caddy's active check marks it down (its log says so) within one interval, plus scheduling slack.
    const victimHost = new URL(victim.url).host;
    const failedChecks = () => caddy.healthFailures(victimHost).filter((at) => at >= killedAt);
    await until(() => failedChecks().length > 0, 'Caddy to mark the killed instance down');
    const noticedAfter = failedChecks()[0] - killedAt;
    expect(noticedAfter).toBeLessThan(HEALTH_INTERVAL_MS + 1_000);
    console.log(`[topology] SIGKILL under load: ${inFlight} in flight, ${failedBefore} failed, 0 of ${result.length - failedBefore} after; Caddy marked it down after ${noticedAfter} ms`);
  });

  it('SIGTERM of one instance under POST load: not one request fails', async () => {
    const bob = client(caddy);
    expect((await signUpThroughEmail(bob, sink, { username: 'bob', email: 'bob@example.com', password: PASSWORD })).status).toBe(201);
    const writer = client(caddy, bob.cookie);
    const load = startLoad(async () => {
      const res = await writer.post('/api/posts', { title: 'Rolling', body: 'restart' });
      // A 503 says the request was not processed, and a client retries it (the app's own carries
      // Retry-After; Caddy's, when no instance answered its health check in time, does not). On a
      // saturated CI machine one in several hundred got one. What a restart must never do is lose a
      // request it took: that shows as a 502, a cut connection, or a 201 without its post (checked below).
      return res.status === 503 ? 'told to retry' : res.status;
    });
    await until(() => load.done >= 20, 'some posts before the stop');
    const leaving = apps[1];
    const exit = leaving.stop('SIGTERM');
    expect(await exit).toEqual({ code: 0, signal: null });
    const mark = load.done;
    await until(() => load.done >= mark + 20, 'posts after the stop');
    const result = await load.stop();
    expect(result.filter((r) => r.status !== 201 && r.status !== 'told to retry')).toEqual([]);
    const created = result.filter((r) => r.status === 201).length;
    // Every 201 is a post that exists, and a request told to retry left nothing behind.
    await withClient(directUrl, async (c) => {
      const { rows } = await c.query("select count(*)::int as n from post where title = 'Rolling'");
      expect(rows[0].n).toBe(created);
    });
    console.log(`[topology] SIGTERM under POST load: ${created} posts, 0 failed, ${result.length - created} told to retry`);
  });

  it('a 10 s Postgres outage behind PgBouncer is answered with 503s, not hangs, and service comes back', async () => {
    const app = apps[0];
    const reader = client(app);
    cluster.halt();
    const haltedAt = Date.now();
    const answers: Array<{ status: number; ms: number }> = [];
    // Through Caddy too, once its checks have seen every instance not ready.
    const throughCaddy = until(() => Date.now() - haltedAt > 4_000, 'the outage to settle').then(async () => {
      const started = Date.now();
      const res = await fetch(caddy.url + '/api/posts');
      return { status: res.status, ms: Date.now() - started };
    });
    while (Date.now() - haltedAt < 10_000) {
      const started = Date.now();
      const { status } = await reader.post('/api/users/forgot-password', { email: 'outage@example.com' }).catch(() => ({ status: 0 }));
      answers.push({ status, ms: Date.now() - started });
    }
    const proxied = await throughCaddy;
    cluster.start();
    const restartedAt = Date.now();
    await until(async () => (await fetch(caddy.url + '/readyz')).status === 200, 'service to come back');
    const backAfter = Date.now() - restartedAt;
    expect(answers.map((a) => a.status).filter((s) => s !== 503)).toEqual([]);
    // PgBouncer's query_wait_timeout (5 s) bounds each wait; its default (120 s) would have hung.
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(8_000);
    // No instance ready: Caddy tries for lb_try_duration (5 s), then answers 503 itself.
    expect(proxied.status).toBe(503);
    expect(proxied.ms).toBeLessThan(8_000);
    console.log(`[topology] 10 s outage: ${answers.length} answers, all 503, slowest ${Math.max(...answers.map((a) => a.ms))} ms; through Caddy ${proxied.status} in ${proxied.ms} ms; ready again ${backAfter} ms after Postgres`);
  });
});

/** How many requests an instance has logged as answered so far. */
function requestsServed(app: AppProcess): number {
  return app.messages().filter((m) => m === 'request completed' || m === 'request errored').length;
}

/** POSTs JSON from a chosen local address; the status, or the error code. */
function post(base: string, path: string, body: unknown, options: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(base + path, {
      method: 'POST',
      agent: false,
      localAddress: options.localAddress,
      headers: { 'content-type': 'application/json', ...options.headers },
    }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end(JSON.stringify(body));
  });
}

type Outcome = { startedAt: number; status: number | string; ok: boolean };

/** Eight clients sending `send()` back to back until stopped; every outcome with its start time. */
function startLoad(send: () => Promise<number | string>) {
  const outcomes: Outcome[] = [];
  let inFlight = 0;
  let running = true;
  const worker = async () => {
    while (running) {
      const startedAt = Date.now();
      inFlight++;
      const status = await send().catch((err: Error) => String(err.cause ?? err.message));
      inFlight--;
      outcomes.push({ startedAt, status, ok: typeof status === 'number' && status < 500 });
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  return {
    get done() {
      return outcomes.length;
    },
    get inFlight() {
      return inFlight;
    },
    async stop() {
      running = false;
      await Promise.all(workers);
      return outcomes;
    },
  };
}
