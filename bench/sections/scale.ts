// scale: forgot and reset latency with 1,000 users and with 1,000,000, both servers up at once and
// sampled in random order, so drift on the machine hits both alike. Misses indexes and slow paths.
import { randomInt } from 'node:crypto';
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { emailOf, insertResetTokens, insertUsers } from '../lib/database.ts';
import { connect, type Connection } from '../lib/http.ts';
import { median, round } from '../lib/stats.ts';

const SIZES = [1_000, 1_000_000] as const;
const FORGOT_SAMPLES = 200;
const RESET_SAMPLES = 60;
const MAIL_TIMEOUT_MS = 15_000;
const NEW_PASSWORD = 'a brand new bench passphrase';

type Side = { users: number; url: string; forgotIds: number[]; tokens: { userId: number; token: string }[]; connection?: Connection };
type Samples = { forgot: number[]; forgot_mail: number[]; reset: number[]; reset_mail: number[] };

export async function scale(ctx: Context): Promise<Outcome> {
  const sides: Side[] = [];
  let insertS = 0;
  for (const users of SIZES) {
    const url = await ctx.databases.create(`scale_${users}`);
    const start = performance.now();
    await insertUsers(url, 1, users, ctx.passwordHash);
    if (users === SIZES[1]) insertS = (performance.now() - start) / 1000;
    // Disjoint accounts for the two kinds: a forgot request would supersede an account's reset token.
    const ids = distinctIds(users, RESET_SAMPLES + FORGOT_SAMPLES);
    const resetIds = ids.slice(0, RESET_SAMPLES);
    const tokens = await insertResetTokens(url, resetIds);
    sides.push({ users, url, forgotIds: ids.slice(RESET_SAMPLES), tokens: resetIds.map((userId, i) => ({ userId, token: tokens[i] })) });
    ctx.say(`scale: ${users} users in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  }
  const apps = await Promise.all(sides.map((side) => launchApp(ctx, side.url, `scale_${side.users}`, false)));
  const samples: Samples[] = sides.map(() => ({ forgot: [], forgot_mail: [], reset: [], reset_mail: [] }));
  try {
    sides.forEach((side, i) => (side.connection = connect(apps[i].origin)));
    const plan = shuffle([
      ...sides.flatMap((_, side) => Array.from({ length: FORGOT_SAMPLES }, () => ({ side, kind: 'forgot' as const }))),
      ...sides.flatMap((_, side) => Array.from({ length: RESET_SAMPLES }, () => ({ side, kind: 'reset' as const }))),
    ]);
    const next = sides.map(() => ({ forgot: 0, reset: 0 }));
    // Warm-up: the first few answers of a fresh process pay for compilation, not for the data.
    for (const side of sides) for (let i = 0; i < 20; i++) await side.connection!.send('GET', '/login');
    for (const { side, kind } of plan) {
      const s = sides[side];
      if (kind === 'forgot') {
        const email = emailOf(s.forgotIds[next[side].forgot++]);
        const { ms, at } = await measured(ctx, s.connection!, email, '/forgot-password', { email }, 202);
        samples[side].forgot.push(ms);
        samples[side].forgot_mail.push(at);
      } else {
        const { userId, token } = s.tokens[next[side].reset++];
        const { ms, at } = await measured(ctx, s.connection!, emailOf(userId), '/reset-password', { token, new_password: NEW_PASSWORD }, 303);
        samples[side].reset.push(ms);
        samples[side].reset_mail.push(at);
      }
    }
  } finally {
    for (const side of sides) side.connection?.close();
    await Promise.all(apps.map((app) => app.stop()));
  }
  const p50 = (key: keyof Samples) => samples.map((s) => round(median(s[key]), 2)) as [number, number];
  const ratioOf = ([small, large]: [number, number]) => round(large / small, 3);
  const figures = {
    forgot_p50_ms: p50('forgot'),
    forgot_mail_p50_ms: p50('forgot_mail'),
    reset_p50_ms: p50('reset'),
    reset_mail_p50_ms: p50('reset_mail'),
  };
  const ratios = {
    forgot: ratioOf(figures.forgot_p50_ms),
    forgot_mail: ratioOf(figures.forgot_mail_p50_ms),
    reset: ratioOf(figures.reset_p50_ms),
  };
  const ratio = Math.max(...Object.values(ratios));
  const result = { users: SIZES, ...figures, ratios, ratio, samples: { forgot: FORGOT_SAMPLES, reset: RESET_SAMPLES }, insert_seconds: round(insertS, 1) };
  const pair = ([a, b]: [number, number]) => `${fixed(a, 2)} / ${fixed(b, 2)}`;
  return {
    results: { scale: result },
    rows: [
      ['scale: forgot answer p50 ms (1k / 1M users)', pair(figures.forgot_p50_ms), '', null],
      ['scale: forgot → email arrived p50 ms', pair(figures.forgot_mail_p50_ms), '', null],
      ['scale: reset answer p50 ms', pair(figures.reset_p50_ms), '', null],
      ['scale: worst ratio 1M / 1k', `${fixed(ratio, 2)} (forgot ${fixed(ratios.forgot, 2)}, email ${fixed(ratios.forgot_mail, 2)}, reset ${fixed(ratios.reset, 2)})`, '<= 1.2', ratio <= 1.2],
    ],
  };
}

/** Sends one form and waits for the email it causes, so that no sample overlaps the last one's mail. */
async function measured(ctx: Context, connection: Connection, to: string, path: string, form: Record<string, string>, status: number) {
  const { arrival } = await ctx.sink.expect(to, MAIL_TIMEOUT_MS);
  const sent = performance.timeOrigin + performance.now();
  const answer = await connection.send('POST', path, form);
  if (answer.status !== status) throw new Error(`scale: POST ${path} answered ${answer.status}`);
  const at = await arrival;
  if (at === null) throw new Error(`scale: no email to ${to} within ${MAIL_TIMEOUT_MS} ms`);
  return { ms: answer.ms, at: at - sent };
}

function distinctIds(users: number, count: number): number[] {
  const ids = new Set<number>();
  while (ids.size < count) ids.add(1 + randomInt(users));
  return [...ids];
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
