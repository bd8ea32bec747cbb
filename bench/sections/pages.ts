// pages: GET /login (helmet, sessions, Nunjucks, request log) against a bare Express "hello", same load tool.
import autocannon from 'autocannon';
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { cpuSeconds } from '../lib/cpu.ts';
import { startBare, type Server } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';

const CONNECTIONS = 10;
const WARMUP_S = 2;
// Short alternating rounds: drift from other work on the machine hits both servers alike.
const ROUNDS = 6;
const ROUND_S = 3;

export type PagesResult = {
  login_rps: number;
  bare_rps: number;
  ratio: number;
  round_ratios: number[];
  /** Server CPU time per answer (user + system): less disturbed by other work than req/s. */
  login_cpu_us_per_request: number | null;
  bare_cpu_us_per_request: number | null;
  /** bare CPU per answer / app CPU per answer: the req/s ratio if the servers alone were the limit. */
  cpu_ratio: number | null;
  connections: number;
  seconds_per_round: number;
};

export async function pages(ctx: Context): Promise<Outcome> {
  const app = await launchApp(ctx, await ctx.databases.create('pages'), 'pages', false);
  const bare = await startBare(ctx.dir);
  try {
    const login = { server: app, url: `${app.origin}/login`, rps: [] as number[], cpuUs: [] as number[] };
    const hello = { server: bare, url: bare.origin, rps: [] as number[], cpuUs: [] as number[] };
    await load(login.url, WARMUP_S);
    await load(hello.url, WARMUP_S);
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so neither always follows the other's aftermath.
      for (const side of round % 2 === 0 ? [login, hello] : [hello, login]) await measure(side);
      ctx.say(`pages round ${round + 1}: /login ${login.rps.at(-1)!.toFixed(0)} req/s, bare ${hello.rps.at(-1)!.toFixed(0)} req/s`);
    }
    const ratios = login.rps.map((a, i) => a / hello.rps[i]);
    const appCpu = login.cpuUs.length ? round(median(login.cpuUs), 1) : null;
    const bareCpu = hello.cpuUs.length ? round(median(hello.cpuUs), 1) : null;
    const result: PagesResult = {
      login_rps: Math.round(median(login.rps)),
      bare_rps: Math.round(median(hello.rps)),
      ratio: round(median(ratios), 3),
      round_ratios: ratios.map((r) => round(r, 3)),
      login_cpu_us_per_request: appCpu,
      bare_cpu_us_per_request: bareCpu,
      cpu_ratio: appCpu && bareCpu ? round(bareCpu / appCpu, 3) : null,
      connections: CONNECTIONS,
      seconds_per_round: ROUND_S,
    };
    return {
      results: { pages: result },
      rows: [
        ['pages: GET /login req/s', String(result.login_rps), '', null],
        ['pages: bare Express req/s', String(result.bare_rps), '', null],
        ['pages: ratio app/bare (median of rounds)', fixed(result.ratio, 2), '>= 0.5', result.ratio >= 0.5],
        ['pages: server CPU µs per answer (app / bare)', `${fixed(appCpu ?? NaN)} / ${fixed(bareCpu ?? NaN)}`, '', null],
      ],
    };
  } finally {
    await app.stop();
    await bare.stop();
  }
}

export async function measure(side: { server: Server; url: string; rps: number[]; cpuUs: number[] }): Promise<void> {
  const before = cpuSeconds(side.server.child.pid);
  const { rps, answers } = await load(side.url, ROUND_S);
  const after = cpuSeconds(side.server.child.pid);
  side.rps.push(rps);
  if (before !== null && after !== null) side.cpuUs.push(((after - before) * 1e6) / answers);
}

/** Answers per second (all 200) over `seconds`; any other answer or error fails the run. */
export async function load(url: string, seconds: number): Promise<{ rps: number; answers: number }> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { rps: result.requests.total / result.duration, answers: result.requests.total };
}
