// pages: GET /login (helmet, sessions, Nunjucks, request log) against a bare Express "hello", same load tool.
import autocannon from 'autocannon';
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { startBare } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';

const CONNECTIONS = 10;
const WARMUP_S = 2;
// Short alternating rounds: drift from other work on the machine hits both servers alike.
const ROUNDS = 4;
const ROUND_S = 4;

export type PagesResult = {
  login_rps: number;
  bare_rps: number;
  ratio: number;
  round_ratios: number[];
  connections: number;
  seconds_per_round: number;
};

export async function pages(ctx: Context): Promise<Outcome> {
  const app = await launchApp(ctx, await ctx.databases.create('pages'), 'pages', false);
  const bare = await startBare(ctx.dir);
  try {
    const login = `${app.origin}/login`;
    await load(login, WARMUP_S);
    await load(bare.origin, WARMUP_S);
    const appRps: number[] = [];
    const bareRps: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so neither always follows the other's aftermath.
      if (round % 2 === 0) {
        appRps.push(await load(login, ROUND_S));
        bareRps.push(await load(bare.origin, ROUND_S));
      } else {
        bareRps.push(await load(bare.origin, ROUND_S));
        appRps.push(await load(login, ROUND_S));
      }
      ctx.say(`pages round ${round + 1}: /login ${appRps.at(-1)!.toFixed(0)} req/s, bare ${bareRps.at(-1)!.toFixed(0)} req/s`);
    }
    const ratios = appRps.map((a, i) => a / bareRps[i]);
    const result: PagesResult = {
      login_rps: Math.round(median(appRps)),
      bare_rps: Math.round(median(bareRps)),
      ratio: round(median(ratios), 3),
      round_ratios: ratios.map((r) => round(r, 3)),
      connections: CONNECTIONS,
      seconds_per_round: ROUND_S,
    };
    return {
      results: { pages: result },
      rows: [
        ['pages: GET /login req/s', String(result.login_rps), '', null],
        ['pages: bare Express req/s', String(result.bare_rps), '', null],
        ['pages: ratio app/bare', fixed(result.ratio, 2), '>= 0.5', result.ratio >= 0.5],
      ],
    };
  } finally {
    await app.stop();
    await bare.stop();
  }
}

/** Requests per second answered 200 over `seconds`; any other answer or error fails the run. */
async function load(url: string, seconds: number): Promise<number> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return result.requests.total / result.duration;
}
