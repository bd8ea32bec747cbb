// pages: the anonymous GET pages that are the same for every visitor (/login, /register,
// /forgot-password) against a bare Express "hello", same load tool. The targets hold on server CPU
// per answer, which other work on the machine disturbs far less than requests per second.
import autocannon from 'autocannon';
import { fixed, launchApp, type Context, type Outcome, type Row } from '../lib/context.ts';
import { cpuSeconds } from '../lib/cpu.ts';
import { startBare, type Server } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';

const CONNECTIONS = 10;
const WARMUP_S = 2;
// Short alternating rounds: drift from other work on the machine hits every server alike.
const ROUNDS = 6;
const ROUND_S = 3;
const PAGES = ['/login', '/register', '/forgot-password'] as const;
// At least half of bare Express: at most twice its server CPU per answer.
export const CPU_RATIO_TARGET = 0.5;

export type Side = { server: Server; url: string; rps: number[]; cpuUs: number[] };

/** One page's figures beside bare Express's, from rounds measured alternately. */
export type Comparison = {
  rps: number;
  /** req/s over bare's, median of the rounds: what a client sees, but it moves with the machine. */
  ratio: number;
  round_ratios: number[];
  /** Server CPU time per answer (user + system). */
  cpu_us_per_request: number | null;
  /** bare CPU per answer / this page's: the req/s ratio if the servers alone were the limit. */
  cpu_ratio: number | null;
};

export type PagesResult = {
  /** Each page's comparison, by path. */
  pages: Record<string, Comparison>;
  bare_rps: number;
  bare_cpu_us_per_request: number | null;
  /** /login's req/s ratio (kept under its old name). */
  ratio: number;
  /** The lowest CPU ratio of the three pages. */
  cpu_ratio: number | null;
  connections: number;
  seconds_per_round: number;
};

export async function pages(ctx: Context): Promise<Outcome> {
  const app = await launchApp(ctx, await ctx.databases.create('pages'), 'pages', false);
  const bare = await startBare(ctx.dir);
  try {
    const sides = PAGES.map((path): Side => ({ server: app, url: `${app.origin}${path}`, rps: [], cpuUs: [] }));
    const hello: Side = { server: bare, url: bare.origin, rps: [], cpuUs: [] };
    await rounds(ctx, 'pages', [...sides, hello]);
    const compared = sides.map((side) => compare(side, hello));
    const result: PagesResult = {
      pages: Object.fromEntries(PAGES.map((path, i) => [path, compared[i]])),
      bare_rps: Math.round(median(hello.rps)),
      bare_cpu_us_per_request: cpuOf(hello),
      ratio: compared[0].ratio,
      cpu_ratio: lowest(compared.map((c) => c.cpu_ratio)),
      connections: CONNECTIONS,
      seconds_per_round: ROUND_S,
    };
    return {
      results: { pages: result },
      rows: [
        ['pages: bare Express req/s / server CPU µs per answer', `${result.bare_rps} / ${fixed(result.bare_cpu_us_per_request ?? NaN)}`, '', null],
        ...PAGES.flatMap((path, i) => comparisonRows(`pages: GET ${path}`, compared[i])),
      ],
    };
  } finally {
    await app.stop();
    await bare.stop();
  }
}

/** Warms every side up, then measures each in every round, in an order that turns around each round. */
export async function rounds(ctx: Context, name: string, sides: Side[]): Promise<void> {
  for (const side of sides) await load(side.url, WARMUP_S);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order, so no side always follows another's aftermath.
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) await measure(side);
    ctx.say(`${name} round ${round + 1}: ${sides.map((s) => `${new URL(s.url).pathname} ${s.rps.at(-1)!.toFixed(0)}`).join(', ')} req/s (last is bare)`);
  }
}

export function compare(side: Side, bare: Side): Comparison {
  const ratios = side.rps.map((rps, i) => rps / bare.rps[i]);
  const cpu = cpuOf(side);
  const bareCpu = cpuOf(bare);
  return {
    rps: Math.round(median(side.rps)),
    ratio: round(median(ratios), 3),
    round_ratios: ratios.map((r) => round(r, 3)),
    cpu_us_per_request: cpu,
    cpu_ratio: cpu && bareCpu ? round(bareCpu / cpu, 3) : null,
  };
}

/** The table's rows for one page: req/s and its ratio (no target: noisy), CPU per answer and its ratio (the target). */
export function comparisonRows(label: string, c: Comparison): Row[] {
  return [
    [`${label} req/s (ratio to bare, median of rounds)`, `${c.rps} (${fixed(c.ratio, 2)})`, '', null],
    [`${label} CPU ratio (bare µs / app µs per answer)`, `${fixed(c.cpu_ratio ?? NaN, 2)} (${fixed(c.cpu_us_per_request ?? NaN)} µs)`, `>= ${CPU_RATIO_TARGET}`, (c.cpu_ratio ?? 0) >= CPU_RATIO_TARGET],
  ];
}

const cpuOf = (side: Side) => (side.cpuUs.length ? round(median(side.cpuUs), 1) : null);
const lowest = (values: (number | null)[]) => (values.every((v) => v !== null) ? Math.min(...(values as number[])) : null);

export async function measure(side: Side): Promise<void> {
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
