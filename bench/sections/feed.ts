// feed: what the blog costs its anonymous readers. GET / and GET /posts/:id against a bare Express
// "hello" as `pages` does (the targets on the CPU ratios, `cpu_ratio` and `post_cpu_ratio`, with the
// req/s ratios `ratio` and `post_ratio` beside them); `scale_ratio` compares the feed's
// latency with 1,000 and with 1,000,000 posts (both servers up, sampled in random order).
import { randomInt } from 'node:crypto';
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { benchPostPath, insertPosts, insertUsers } from '../lib/database.ts';
import { connect, type Connection } from '../lib/http.ts';
import { startBare } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';
import { compare, comparisonRows, rounds, type Side } from './pages.ts';

const AUTHORS = 1_000;
const SIZES = [1_000, 1_000_000] as const;
const SAMPLES = 300;

export async function feed(ctx: Context): Promise<Outcome> {
  const throughput = await compareWithBare(ctx);
  const scale = await compareSizes(ctx);
  const result = { ...throughput, ...scale };
  return {
    results: { feed: result },
    rows: [
      ['feed: bare Express req/s / server CPU µs per answer', `${result.bare_rps} / ${fixed(result.bare_cpu_us_per_request ?? NaN)}`, '', null],
      ...comparisonRows('feed: GET / (anonymous)', result.comparisons.feed),
      ...comparisonRows('feed: GET /posts/:id (anonymous)', result.comparisons.post),
      ['feed: first page p50 ms (1k / 1M posts)', `${fixed(result.first_page_p50_ms[0], 2)} / ${fixed(result.first_page_p50_ms[1], 2)}`, '', null],
      ['feed: older page (uncached) p50 ms (1k / 1M posts)', `${fixed(result.older_page_p50_ms[0], 2)} / ${fixed(result.older_page_p50_ms[1], 2)}`, '', null],
      ['feed: scale_ratio 1M / 1k (worst)', fixed(result.scale_ratio, 2), '<= 1.2', result.scale_ratio <= 1.2],
    ],
  };
}

/** Anonymous GET / and GET /posts/:id against bare Express, in alternating rounds. */
async function compareWithBare(ctx: Context) {
  const url = await ctx.databases.create('feed');
  await insertUsers(url, 1, 10, ctx.passwordHash);
  await insertPosts(url, 20, 10);
  const app = await launchApp(ctx, url, 'feed', false);
  const bare = await startBare(ctx.dir);
  try {
    const home: Side = { server: app, url: `${app.origin}/`, rps: [], cpuUs: [] };
    const post: Side = { server: app, url: `${app.origin}${benchPostPath(20)}`, rps: [], cpuUs: [] };
    const hello: Side = { server: bare, url: bare.origin, rps: [], cpuUs: [] };
    await rounds(ctx, 'feed', [home, post, hello]);
    const feed = compare(home, hello);
    const onePost = compare(post, hello);
    return {
      feed_rps: feed.rps,
      post_rps: onePost.rps,
      bare_rps: Math.round(median(hello.rps)),
      ratio: feed.ratio,
      post_ratio: onePost.ratio,
      round_ratios: feed.round_ratios,
      feed_cpu_us_per_request: feed.cpu_us_per_request,
      post_cpu_us_per_request: onePost.cpu_us_per_request,
      bare_cpu_us_per_request: hello.cpuUs.length ? round(median(hello.cpuUs), 1) : null,
      cpu_ratio: feed.cpu_ratio,
      post_cpu_ratio: onePost.cpu_ratio,
      comparisons: { feed, post: onePost },
    };
  } finally {
    await app.stop();
    await bare.stop();
  }
}

/**
 * The feed with 1,000 and with 1,000,000 posts. The first page is what most readers get (from the
 * cache, re-rendered every few seconds); older pages at random depths (`?before=`, each address
 * new, so never cached) show what keyset pagination costs when the database does the work.
 */
async function compareSizes(ctx: Context) {
  const sides: { posts: number; connection?: Connection; first: number[]; older: number[] }[] = [];
  const urls: string[] = [];
  let insertS = 0;
  for (const posts of SIZES) {
    const url = await ctx.databases.create(`feed_${posts}`);
    const start = performance.now();
    await insertUsers(url, 1, AUTHORS, ctx.passwordHash);
    await insertPosts(url, posts, AUTHORS);
    if (posts === SIZES[1]) insertS = (performance.now() - start) / 1000;
    ctx.say(`feed: ${posts} posts in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    urls.push(url);
    sides.push({ posts, first: [], older: [] });
  }
  const apps = await Promise.all(urls.map((url, i) => launchApp(ctx, url, `feed_${SIZES[i]}`, false)));
  try {
    sides.forEach((side, i) => (side.connection = connect(apps[i].origin)));
    for (const side of sides) for (let i = 0; i < 20; i++) await side.connection!.send('GET', `/?before=${1 + randomInt(side.posts)}`);
    const plan = shuffle(sides.flatMap((_, side) => Array.from({ length: 2 * SAMPLES }, (_, i) => ({ side, older: i % 2 === 1 }))));
    const used = sides.map(() => new Set<number>());
    for (const { side, older } of plan) {
      const s = sides[side];
      let path = '/';
      if (older) {
        let before: number;
        do before = 11 + randomInt(s.posts - 10);
        while (used[side].has(before));
        used[side].add(before);
        path = `/?before=${before}`;
      }
      const answer = await s.connection!.send('GET', path);
      if (answer.status !== 200) throw new Error(`feed: GET ${path} answered ${answer.status}`);
      (older ? s.older : s.first).push(answer.ms);
    }
  } finally {
    for (const side of sides) side.connection?.close();
    await Promise.all(apps.map((app) => app.stop()));
  }
  const p50 = (key: 'first' | 'older') => sides.map((s) => round(median(s[key]), 3)) as [number, number];
  const first = p50('first');
  const older = p50('older');
  const ratios = { first_page: round(first[1] / first[0], 3), older_page: round(older[1] / older[0], 3) };
  return {
    posts: SIZES,
    first_page_p50_ms: first,
    older_page_p50_ms: older,
    scale_ratios: ratios,
    scale_ratio: Math.max(ratios.first_page, ratios.older_page),
    samples: SAMPLES,
    insert_seconds: round(insertS, 1),
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
