// forgot_timing, signup_timing, email_link_timing and login_timing: does an answer's timing tell whether an account exists? Tested as dudect does:
// two classes of input, the class drawn at random for every request, Welch's t on raw and cropped timings.
import { randomBytes, randomInt } from 'node:crypto';
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { emailOf, insertUsers, unknownEmailOf } from '../lib/database.ts';
import { connect, type Timed } from '../lib/http.ts';
import { leakTest, type LeakTest } from '../lib/stats.ts';

const KNOWN_USERS = 1_000;
// dudect's rule of thumb: |t| above 4.5 means a leak is probable.
const T_LIMIT = 4.5;

type Sample = { cls: 0 | 1; ms: number; half: 0 | 1; previous: 0 | 1 | null };

export type TimingResult = LeakTest & {
  classes: [string, string];
  medians_ms: Record<string, number>;
  /** The same test between two random halves of one class: what |t| looks like when nothing differs. */
  aa_control: { max_abs_t: number; per_class: [number, number] };
  /**
   * Samples grouped by the class of the request before them, on the same connection: work a request
   * leaves behind (the reset email) shows here, in the next answer, not in its own.
   */
  carryover: { max_abs_t: number; median_ms: [number, number] };
  pacing: string;
  requests: number;
  new_connections: number;
  seconds: number;
};

export async function forgotTiming(ctx: Context): Promise<Outcome> {
  return run(ctx, {
    name: 'forgot_timing',
    classes: ['known email', 'unknown email'],
    perClass: 2_500,
    warmup: 300,
    boundSeconds: 150,
    status: 202,
    request: (cls) => ({
      path: '/forgot-password',
      form: { email: cls === 0 ? emailOf(1 + randomInt(KNOWN_USERS)) : unknownEmailOf(randomInt(1_000_000)) },
    }),
  });
}

/** "Email me a sign-in link": recorded before the answer like a forgot request, the account looked at after it. */
export async function emailLinkTiming(ctx: Context): Promise<Outcome> {
  return run(ctx, {
    name: 'email_link_timing',
    classes: ['known email', 'unknown email'],
    perClass: 2_500,
    warmup: 300,
    boundSeconds: 150,
    status: 202,
    request: (cls) => ({
      path: '/login/email',
      form: { email: cls === 0 ? emailOf(1 + randomInt(KNOWN_USERS)) : unknownEmailOf(randomInt(1_000_000)) },
    }),
  });
}

export async function signupTiming(ctx: Context): Promise<Outcome> {
  return run(ctx, {
    name: 'signup_timing',
    classes: ['new email', 'taken email'],
    // Every answer hashes a password with argon2 first (tens of milliseconds on an idle machine, far
    // more on a busy one), so fewer samples than forgot_timing, and a longer bound.
    perClass: 400,
    warmup: 30,
    boundSeconds: 540,
    status: 202,
    request: (cls) => ({
      path: '/register',
      form: {
        // A fresh username of one length for both classes: a taken one would be a 422 (and is public anyway).
        username: `n${randomBytes(8).toString('hex')}`,
        email: cls === 0 ? unknownEmailOf(randomInt(1_000_000)) : emailOf(1 + randomInt(KNOWN_USERS)),
        // A fresh password every time, as for login_timing: argon2id's work depends a little on its input.
        password: randomBytes(12).toString('base64url'),
      },
    }),
  });
}

export async function loginTiming(ctx: Context): Promise<Outcome> {
  return run(ctx, {
    name: 'login_timing',
    classes: ['unknown email', 'wrong password'],
    perClass: 600,
    warmup: 30,
    boundSeconds: 200,
    status: 401,
    // With the limits on, as in production: the per-email throttle's check and count run on every login
    // and must cost the same for both classes. Each request names a fresh client address (10.0.0.0/8,
    // through TRUST_PROXY), so the per-IP limit, which the bench is not about, never answers 429.
    env: { RATE_LIMITS: 'on', TRUST_PROXY: 'loopback' },
    request: (cls) => ({
      path: '/login',
      headers: { 'x-forwarded-for': `10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}` },
      form: {
        email: cls === 0 ? unknownEmailOf(randomInt(1_000_000)) : emailOf(1 + randomInt(KNOWN_USERS)),
        // A fresh wrong password (always 16 characters) every time: argon2id's memory accesses depend
        // on its input, so one fixed password per class could differ by itself, whatever the email.
        password: randomBytes(12).toString('base64url'),
      },
    }),
  });
}

type Plan = {
  name: string;
  classes: [string, string];
  perClass: number;
  warmup: number;
  boundSeconds: number;
  status: number;
  /** Settings over the bench's defaults (limits off). */
  env?: Record<string, string>;
  request: (cls: 0 | 1) => { path: string; form: Record<string, string>; headers?: Record<string, string> };
};

async function run(ctx: Context, plan: Plan): Promise<Outcome> {
  const url = await ctx.databases.create(plan.name);
  await insertUsers(url, 1, KNOWN_USERS, ctx.passwordHash);
  const app = await launchApp(ctx, url, plan.name, false, plan.env);
  const connection = connect(app.origin);
  const samples: Sample[] = [];
  let requests = 0;
  let fresh = 0;
  const started = performance.now();
  try {
    const send = async (cls: 0 | 1): Promise<Timed> => {
      const { path, form, headers } = plan.request(cls);
      const answer = await connection.send('POST', path, form, headers);
      if (answer.status !== plan.status) throw new Error(`${plan.name}: POST ${path} answered ${answer.status}`);
      requests++;
      if (!answer.reused) fresh++;
      return answer;
    };
    let previous: 0 | 1 | null = null;
    for (let i = 0; i < plan.warmup; i++) {
      previous = randomInt(2) as 0 | 1;
      await send(previous);
    }
    const count = [0, 0];
    const deadline = performance.now() + plan.boundSeconds * 1000;
    // Back to back, as measured: see docs/benchmarks.md for why the requests are not paced.
    while ((count[0] < plan.perClass || count[1] < plan.perClass) && performance.now() < deadline) {
      const cls = randomInt(2) as 0 | 1;
      const { ms } = await send(cls);
      samples.push({ cls, ms, half: randomInt(2) as 0 | 1, previous });
      count[cls]++;
      previous = cls;
      if (samples.length % 1000 === 0) ctx.say(`${plan.name}: ${samples.length} samples`);
    }
  } finally {
    connection.close();
    await app.stop();
  }
  const of = (cls: 0 | 1, half?: 0 | 1) =>
    samples.filter((s) => s.cls === cls && (half === undefined || s.half === half)).map((s) => s.ms);
  const main = leakTest(of(0), of(1));
  const aa = [leakTest(of(0, 0), of(0, 1)).max_abs_t, leakTest(of(1, 0), of(1, 1)).max_abs_t] as [number, number];
  const after = (cls: 0 | 1) => samples.filter((s) => s.previous === cls).map((s) => s.ms);
  const carry = leakTest(after(0), after(1));
  const result: TimingResult = {
    ...main,
    classes: plan.classes,
    medians_ms: { [plan.classes[0]]: main.median_ms[0], [plan.classes[1]]: main.median_ms[1] },
    aa_control: { max_abs_t: Math.max(...aa), per_class: aa },
    carryover: { max_abs_t: carry.max_abs_t, median_ms: carry.median_ms },
    pacing: 'back-to-back on one keep-alive connection',
    requests,
    new_connections: fresh,
    seconds: Math.round((performance.now() - started) / 1000),
  };
  const enough = main.n[0] >= plan.perClass && main.n[1] >= plan.perClass;
  const [a, b] = plan.classes;
  return {
    results: { [plan.name]: result },
    figures: { timing: { [plan.name]: { classes: plan.classes, samples: [of(0), of(1)], t_limit: T_LIMIT, max_abs_t: main.max_abs_t } } },
    rows: [
      [`${plan.name}: max |t| (${a} vs ${b})`, `${fixed(main.max_abs_t, 2)}${enough ? '' : ' (too few samples)'}`, `< ${T_LIMIT}`,
        main.max_abs_t < T_LIMIT && enough],
      [`${plan.name}: A/A control max |t|`, fixed(result.aa_control.max_abs_t, 2), `< ${T_LIMIT}`, null],
      [`${plan.name}: median ms (${a} / ${b})`, `${fixed(main.median_ms[0], 3)} / ${fixed(main.median_ms[1], 3)}`, '', null],
      [`${plan.name}: samples per class`, `${main.n[0]} / ${main.n[1]}`, `>= ${plan.perClass}`, null],
      [`${plan.name}: next request, by previous class: max |t|`, `${fixed(carry.max_abs_t, 2)} (median ${fixed(carry.median_ms[0], 3)} / ${fixed(carry.median_ms[1], 3)} ms)`, 'report', null],
    ],
  };
}
