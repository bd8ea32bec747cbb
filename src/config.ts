// The only reader of process.env: every setting typed, validated once, frozen.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

export type Config = Readonly<{
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  databaseUrl: string;
  appBaseUrl: URL;
  /** No APP_BASE_URL was given: `appBaseUrl` is http://localhost with the port the server binds (see withBoundPort). */
  appBaseUrlFromPort: boolean;
  sessionSecret: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  resetTokenTtlMinutes: number;
  resetThrottleSeconds: number;
  signupThrottleSeconds: number;
  rateLimits: boolean;
  trustProxy: boolean | number | string | undefined;
  /** When set, GET /metrics answers requests bearing it (Authorization: Bearer …); 404 otherwise. */
  metricsToken: string | undefined;
}>;

/** Every bad variable at once, one line each, so a broken `.env` is fixed in one pass. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  // 0: any free port, reported in the "listening" log line (tests and benchmarks start that way).
  PORT: integer(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:PATH, sqlite::memory: or postgres://…')
    .default('sqlite:./data/inkwell.db'),
  APP_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  MAIL_FROM: z
    .string()
    .regex(/^[^\r\n\0]+$/, 'must be one line')
    .default('Inkwell <no-reply@localhost>'),
  RESET_TOKEN_TTL_MINUTES: integer(1, 24 * 60).default(60),
  RESET_THROTTLE_SECONDS: integer(0, 24 * 3600).default(60),
  SIGNUP_THROTTLE_SECONDS: integer(0, 24 * 3600).default(60),
  RATE_LIMITS: z.enum(['on', 'off']).default('on'),
  TRUST_PROXY: z.string().min(1).optional(),
  METRICS_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]{16,}$/, 'must be at least 16 printable characters without spaces')
    .optional(),
});

/** Reads the environment (after `.env` if present); throws one ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  // Each variable on its own, so one bad value does not hide the next: one line per bad variable.
  const problems: string[] = [];
  const parsed: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema.shape)) {
    const result = field.safeParse(present[name]);
    if (result.success) parsed[name] = result.data;
    else problems.push(`${name}: ${result.error.issues[0].message}`);
  }
  const v = parsed as z.output<typeof schema>;
  // A variable that did not parse has no entry in `parsed` (one that is simply unset does).
  const bad = (name: string) => !(name in parsed);
  if (v.NODE_ENV === 'production') {
    if (!bad('SESSION_SECRET') && !v.SESSION_SECRET) problems.push('SESSION_SECRET: required in production (at least 32 characters)');
    if (!bad('SMTP_URL') && !v.SMTP_URL) problems.push('SMTP_URL: required in production');
    if (!bad('APP_BASE_URL') && !v.APP_BASE_URL?.startsWith('https://')) {
      problems.push('APP_BASE_URL: required in production and must be an https:// URL');
    }
  }
  if (!bad('APP_BASE_URL') && v.APP_BASE_URL) {
    const url = new URL(v.APP_BASE_URL);
    if (url.pathname !== '/' || url.search || url.hash) {
      problems.push('APP_BASE_URL: must be an origin such as https://blog.example.com (no path)');
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const appBaseUrl = new URL(v.APP_BASE_URL ?? `http://localhost:${v.PORT}`);
  return Object.freeze({
    env: v.NODE_ENV,
    port: v.PORT,
    host: v.HOST,
    databaseUrl: v.DATABASE_URL,
    appBaseUrl,
    appBaseUrlFromPort: v.APP_BASE_URL === undefined,
    // A per-boot secret in development: sessions simply end on restart.
    sessionSecret: v.SESSION_SECRET ?? randomBytes(32).toString('base64url'),
    smtpUrl: v.SMTP_URL,
    mailFrom: v.MAIL_FROM,
    resetTokenTtlMinutes: v.RESET_TOKEN_TTL_MINUTES,
    resetThrottleSeconds: v.RESET_THROTTLE_SECONDS,
    signupThrottleSeconds: v.SIGNUP_THROTTLE_SECONDS,
    rateLimits: v.RATE_LIMITS === 'on',
    trustProxy: parseTrustProxy(v.TRUST_PROXY),
    metricsToken: v.METRICS_TOKEN,
  });
}

/**
 * The configuration once the server is listening on `port`: without APP_BASE_URL, links name the
 * port actually bound (PORT=0 lets the kernel pick one), not `http://localhost:0`.
 */
export function withBoundPort(config: Config, port: number): Config {
  if (!config.appBaseUrlFromPort || port === config.port) return config;
  return Object.freeze({ ...config, port, appBaseUrl: new URL(`http://localhost:${port}`) });
}

/** Express accepts true, a hop count, or a list of addresses/subnets; we accept the same words. */
function parseTrustProxy(value: string | undefined): Config['trustProxy'] {
  if (value === undefined || value === 'false') return undefined;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
