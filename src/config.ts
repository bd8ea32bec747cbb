// The only reader of process.env: every setting typed, validated once, frozen.
import { createHash, randomBytes } from 'node:crypto';
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
  signInLinkThrottleSeconds: number;
  rateLimits: boolean;
  trustProxy: boolean | number | string | undefined;
  /**
   * How long a stop keeps serving with /readyz at 503 before it closes anything, so the proxy's health
   * check takes the instance out first (a rolling restart then drops nothing): longer than the
   * proxy's health-check interval. Part of the 10 s stop deadline, hence at most 5 s.
   */
  drainMs: number;
  /** When set, GET /metrics answers requests bearing it (Authorization: Bearer …); 404 otherwise. */
  metricsToken: string | undefined;
  /** Keys for two-step secrets at rest (AES-256-GCM): the first encrypts, every one decrypts (rotation). */
  mfaKeys: readonly MfaKey[];
}>;

export type MfaKey = Readonly<{ id: string; key: Buffer }>;

/** Every bad variable at once, one line each, so a broken `.env` is fixed in one pass. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.problems = problems;
  }
}

// Three of deploy/Caddyfile's 1 s health checks: one to notice, two to spare on a busy machine.
const DEFAULT_PRODUCTION_DRAIN_SECONDS = 3;

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
  SIGN_IN_LINK_THROTTLE_SECONDS: integer(0, 24 * 3600).default(60),
  RATE_LIMITS: z.enum(['on', 'off']).default('on'),
  TRUST_PROXY: z.string().min(1).optional(),
  // Default: 3 s in production (deploy/Caddyfile checks every 1 s), none elsewhere (Ctrl-C stops at once).
  DRAIN_SECONDS: integer(0, 5).optional(),
  METRICS_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]{16,}$/, 'must be at least 16 printable characters without spaces')
    .optional(),
  // "ID:BASE64" (32 random bytes each), comma-separated; the first encrypts new secrets.
  MFA_ENCRYPTION_KEY: z
    .string()
    .transform((value, ctx) => {
      const keys = value.split(',').map((entry) => entry.trim().split(':'));
      const parsed = keys.map(([id, b64, ...rest]) => ({ id, key: Buffer.from(b64 ?? '', 'base64'), rest }));
      const bad = parsed.some(({ id, key, rest }) => !/^[A-Za-z0-9_-]{1,16}$/.test(id ?? '') || key.length !== 32 || rest.length > 0);
      if (bad || new Set(parsed.map((k) => k.id)).size !== parsed.length) {
        ctx.addIssue({ code: 'custom', message: 'must be ID:BASE64 entries (32 random bytes each, unique ids), comma-separated' });
        return z.NEVER;
      }
      return parsed.map(({ id, key }) => Object.freeze({ id, key }));
    })
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
    if (!bad('MFA_ENCRYPTION_KEY') && !v.MFA_ENCRYPTION_KEY) {
      problems.push('MFA_ENCRYPTION_KEY: required in production (ID:BASE64 of 32 random bytes, e.g. k1:$(openssl rand -base64 32))');
    }
    // Express's `true` believes the leftmost X-Forwarded-For, which the client writes itself: every
    // request could pick its own address and walk past the per-IP limits (docs/instances.md).
    if (v.TRUST_PROXY === 'true') {
      problems.push('TRUST_PROXY: true lets clients choose their own address in production; set how many proxies are in front (1 behind one proxy, 2 behind a CDN and a proxy) or their addresses');
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
    signInLinkThrottleSeconds: v.SIGN_IN_LINK_THROTTLE_SECONDS,
    rateLimits: v.RATE_LIMITS === 'on',
    trustProxy: parseTrustProxy(v.TRUST_PROXY),
    drainMs: (v.DRAIN_SECONDS ?? (v.NODE_ENV === 'production' ? DEFAULT_PRODUCTION_DRAIN_SECONDS : 0)) * 1000,
    metricsToken: v.METRICS_TOKEN,
    // Development derives a key per database, so two-step survives restarts; it is no secret, which is
    // why production must configure its own.
    mfaKeys: v.MFA_ENCRYPTION_KEY ?? [
      Object.freeze({ id: 'dev', key: createHash('sha256').update(`inkwell development two-step key:${v.DATABASE_URL}`).digest() }),
    ],
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
