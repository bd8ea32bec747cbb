// crash: a forgot flood while instances are SIGKILLed at random moments and restarted. Does every request
// answered 202 end as an email? Two instances on Postgres, one (restarted) on SQLite.
import { randomInt } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { enqueue } from '../../src/jobs/queue.ts';
import { launchApp, type Context, type Outcome, type Row } from '../lib/context.ts';
import { emailOf, insertUsers, openDatabases, withOrm, type Databases } from '../lib/database.ts';
import { sleep, type App } from '../lib/processes.ts';
import { percentile, round } from '../lib/stats.ts';
import { postgresAvailable } from '../../test/support/postgres.ts';

const REQUESTS = 500;
const KILLS = 3;
const CONCURRENCY = 16;
// A killed instance's claimed mail waits for its 90 s lease, then a 5 s sweep; plus slow starts on a busy machine.
const DRAIN_BOUND_S = 240;

type Scenario = { accepted: number; lost: number; duplicates: number; drain_s: number; kills: number; refused_while_down: number };

export async function crash(ctx: Context): Promise<Outcome> {
  const results: Record<string, unknown> = {};
  const rows: Row[] = [];
  const scenarios: Scenario[] = [];

  const sqliteDir = mkdtempSync(join(ctx.dir, 'crash-sqlite-'));
  const sqlite = await run(ctx, `sqlite:${join(sqliteDir, 'crash.db')}`, 1, 'crash_sqlite');
  results.sqlite = { ...sqlite, record_insert_p50_ms: await insertCost(`sqlite:${join(sqliteDir, 'insert.db')}`) };
  scenarios.push(sqlite);

  if (ctx.databases.dialect === 'postgres' || postgresAvailable()) {
    let own: Databases | undefined;
    const databases = ctx.databases.dialect === 'postgres' ? ctx.databases : (own = await openDatabases('postgres', ctx.dir));
    try {
      const postgres = await run(ctx, await databases.create('crash'), 2, 'crash_postgres');
      results.postgres = postgres;
      scenarios.push(postgres);
    } finally {
      await own?.stop();
    }
  }

  const total = {
    accepted: sum(scenarios, 'accepted'),
    lost: sum(scenarios, 'lost'),
    duplicates: sum(scenarios, 'duplicates'),
    drain_s: Math.max(...scenarios.map((s) => s.drain_s)),
  };
  for (const [name, s] of Object.entries(results) as [string, Scenario][]) {
    rows.push([`crash (${name}): lost of accepted, ${s.kills} kills`, `${s.lost} of ${s.accepted}`, '0', s.lost === 0 && s.accepted >= REQUESTS]);
    rows.push([`crash (${name}): duplicates / drain s`, `${s.duplicates} / ${s.drain_s}`, '', null]);
  }
  const insert = (results.sqlite as { record_insert_p50_ms: number }).record_insert_p50_ms;
  rows.push(['crash: the recorded request\u2019s insert, p50 ms (SQLite)', String(insert), '< 1', insert < 1]);
  return { results: { crash: { ...total, ...results } }, rows };
}

/**
 * Floods `url` through `instanceCount` instances; a killer SIGKILLs a random one KILLS times at random
 * moments and restarts it. A request that fails (its instance was down) is sent again elsewhere until
 * it is answered 202, as a user would retry. Then waits for an email to every accepted address.
 */
async function run(ctx: Context, url: string, instanceCount: number, name: string): Promise<Scenario> {
  await insertUsers(url, 1, REQUESTS, ctx.passwordHash);
  const before = (await ctx.sink.recipients()).length;
  const instances: (App | null)[] = await Promise.all(Array.from({ length: instanceCount }, () => launchApp(ctx, url, name, false)));
  const accepted = new Set<string>();
  let refused = 0;
  let next = 1;
  let flooding = true;
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

  const sender = async () => {
    while (next <= REQUESTS) {
      const email = emailOf(next++);
      for (let tries = 0; ; tries++) {
        const live = instances.filter((app): app is App => app !== null);
        const app = live[randomInt(live.length || 1)];
        if (app && (await post(agent, app.origin, email)) === 202) break;
        refused++;
        await sleep(200);
        if (tries > 600) throw new Error(`${email} was never accepted`);
      }
      accepted.add(email);
    }
  };
  const killer = async () => {
    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(1_000 + randomInt(3_000));
      if (!flooding && kill > 0) break;
      const i = randomInt(instanceCount);
      const victim = instances[i]!;
      instances[i] = null;
      victim.child.kill('SIGKILL');
      await new Promise((resolve) => victim.child.once('exit', resolve));
      ctx.say(`${name}: SIGKILLed instance ${i + 1} (${accepted.size} accepted so far); restarting it`);
      instances[i] = await launchApp(ctx, url, name, false);
    }
  };

  const killing = killer();
  await Promise.all(Array.from({ length: CONCURRENCY }, sender));
  flooding = false;
  await killing;
  const drainFrom = performance.now();
  ctx.say(`${name}: ${accepted.size} accepted; waiting for the queue to drain`);
  let arrived = new Map<string, number>();
  while (performance.now() - drainFrom < DRAIN_BOUND_S * 1000) {
    arrived = countBy((await ctx.sink.recipients()).slice(before));
    if ([...accepted].every((email) => arrived.has(email))) break;
    await sleep(500);
  }
  const drain_s = round((performance.now() - drainFrom) / 1000, 1);
  await Promise.all(instances.map((app) => app?.stop()));
  agent.destroy();
  const lost = [...accepted].filter((email) => !arrived.has(email)).length;
  const duplicates = [...arrived.values()].reduce((n, count) => n + count - 1, 0);
  return { accepted: accepted.size, lost, duplicates, drain_s, kills: KILLS, refused_while_down: refused };
}

/** What recording a forgot request costs: the one insert before the 202, timed alone on SQLite. */
async function insertCost(url: string): Promise<number> {
  return withOrm(url, async (orm) => {
    const times: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const start = performance.now();
      await enqueue(orm.em.fork(), 'password-reset-request', { email: emailOf(i) }, { wake: false });
      times.push(performance.now() - start);
    }
    return round(percentile(times, 50), 3);
  });
}

function post(agent: http.Agent, origin: string, email: string): Promise<number> {
  const body = new URLSearchParams({ email }).toString();
  return new Promise((resolve) => {
    const req = http.request(`${origin}/forgot-password`, {
      agent, method: 'POST', timeout: 30_000,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

const countBy = (items: string[]) => items.reduce((m, item) => m.set(item, (m.get(item) ?? 0) + 1), new Map<string, number>());
const sum = (list: Scenario[], key: 'accepted' | 'lost' | 'duplicates') => list.reduce((n, s) => n + s[key], 0);
