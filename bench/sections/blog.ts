// feed_xml and search: what feed readers and searchers cost. `feed_xml.cpu_ratio` compares an
// anonymous GET /feed.xml (20 full posts, from the page cache) with a bare Express "hello", in
// alternating rounds, by server CPU per answer as `pages` and `feed` do (`ratio`, by req/s, beside it);
// `search.scale_ratio` compares a search's p50 with 1,000 and 1,000,000 posts.
import { randomInt } from 'node:crypto';
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { insertPosts, insertUsers } from '../lib/database.ts';
import { connect, type Connection } from '../lib/http.ts';
import { startBare } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';
import { compare, comparisonRows, rounds, type Side } from './pages.ts';

const AUTHORS = 1_000;
const SIZES = [1_000, 1_000_000] as const;
const SAMPLES = 200;
// Each post has one word of its own (`t<id>`, bench/lib/database.ts) and one of eight shared topics.
const TOPICS = ['ink', 'paper', 'coffee'];


export async function feedXml(ctx: Context): Promise<Outcome> {
  const url = await ctx.databases.create('feed_xml');
  await insertUsers(url, 1, 10, ctx.passwordHash);
  await insertPosts(url, 40, 10);
  const app = await launchApp(ctx, url, 'feed_xml', false);
  const bare = await startBare(ctx.dir);
  try {
    const atom: Side = { server: app, url: `${app.origin}/feed.xml`, rps: [], cpuUs: [] };
    const hello: Side = { server: bare, url: bare.origin, rps: [], cpuUs: [] };
    await rounds(ctx, 'feed_xml', [atom, hello]);
    const compared = compare(atom, hello);
    const result = { ...compared, bare_rps: Math.round(median(hello.rps)), bare_cpu_us_per_request: round(median(hello.cpuUs), 1) };
    return {
      results: { feed_xml: result },
      rows: [
        ['feed_xml: bare Express req/s / server CPU µs per answer', `${result.bare_rps} / ${fixed(result.bare_cpu_us_per_request)}`, '', null],
        ...comparisonRows('feed_xml: GET /feed.xml (anonymous)', compared),
      ],
    };
  } finally {
    await app.stop();
    await bare.stop();
  }
}

/**
 * `GET /api/posts?q=` with 1,000 and with 1,000,000 posts, both servers up, samples in random order
 * on one keep-alive connection each. `rare`: a word one post has (the index finds it at once, at any
 * size); `topic`: a word an eighth of all posts share, so ranking weighs 125,000 matches at 1M
 * (reported, not part of the ratio: its cost grows with the matches, as in any engine).
 */
export async function search(ctx: Context): Promise<Outcome> {
  const urls: string[] = [];
  let insertS = 0;
  for (const posts of SIZES) {
    const url = await ctx.databases.create(`search_${posts}`);
    const start = performance.now();
    await insertUsers(url, 1, AUTHORS, ctx.passwordHash);
    await insertPosts(url, posts, AUTHORS);
    if (posts === SIZES[1]) insertS = (performance.now() - start) / 1000;
    ctx.say(`search: ${posts} posts (indexed) in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    urls.push(url);
  }
  const apps = await Promise.all(urls.map((url, i) => launchApp(ctx, url, `search_${SIZES[i]}`, false)));
  const sides = SIZES.map((posts) => ({ posts, connection: undefined as Connection | undefined, rare: [] as number[], topic: [] as number[] }));
  try {
    sides.forEach((side, i) => (side.connection = connect(apps[i].origin)));
    for (const side of sides) for (let i = 0; i < 20; i++) await side.connection!.send('GET', `/api/posts?q=t${1 + randomInt(side.posts)}`);
    const plan = shuffle(sides.flatMap((_, side) => Array.from({ length: 2 * SAMPLES }, (_, i) => ({ side, rare: i % 2 === 0 }))));
    for (const { side, rare } of plan) {
      const s = sides[side];
      const q = rare ? `t${1 + randomInt(s.posts)}` : TOPICS[randomInt(TOPICS.length)];
      const answer = await s.connection!.send('GET', `/api/posts?q=${q}`);
      if (answer.status !== 200) throw new Error(`search: ?q=${q} answered ${answer.status}`);
      (rare ? s.rare : s.topic).push(answer.ms);
    }
  } finally {
    for (const side of sides) side.connection?.close();
    await Promise.all(apps.map((app) => app.stop()));
  }
  const p50 = (key: 'rare' | 'topic') => sides.map((s) => round(median(s[key]), 3)) as [number, number];
  const rare = p50('rare');
  const topic = p50('topic');
  const scaleRatio = round(rare[1] / rare[0], 3);
  const result = { posts: SIZES, p50_ms: rare, topic_p50_ms: topic, scale_ratio: scaleRatio, samples: SAMPLES, insert_seconds: round(insertS, 1) };
  return {
    results: { search: result },
    rows: [
      ['search: p50 ms, a rare word (1k / 1M posts)', `${fixed(rare[0], 2)} / ${fixed(rare[1], 2)}`, '', null],
      ['search: scale_ratio 1M / 1k', fixed(scaleRatio, 2), '<= 2', scaleRatio <= 2],
      ['search: p50 ms, a word 1 in 8 posts have (1k / 1M posts)', `${fixed(topic[0], 2)} / ${fixed(topic[1], 2)}`, '', null],
    ],
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
