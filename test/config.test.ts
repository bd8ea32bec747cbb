// Configuration: validated once, defaults from DESIGN.md, one line naming the bad variable.
import { describe, expect, it } from 'vitest';
import { loadConfig, type ConfigError } from '../src/config.ts';

const production = { NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(32), MFA_ENCRYPTION_KEY: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', SMTP_URL: 'smtp://mail.example.com:587', APP_BASE_URL: 'https://blog.example.com' };

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development', port: 3000, host: '127.0.0.1', databaseUrl: 'sqlite:./data/inkwell.db',
      smtpUrl: undefined, mailFrom: 'Inkwell <no-reply@localhost>', resetTokenTtlMinutes: 60,
      resetThrottleSeconds: 60, rateLimits: true, trustProxy: undefined,
    });
    expect(config.appBaseUrl.href).toBe('http://localhost:3000/');
    expect(config.sessionSecret.length).toBeGreaterThanOrEqual(32);
    expect(loadConfig({ PORT: '4000' }).appBaseUrl.href).toBe('http://localhost:4000/');
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT: /],
    [{ PORT: '70000' }, /^PORT: /],
    [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL: /],
    [{ APP_BASE_URL: 'ftp://x' }, /^APP_BASE_URL: /],
    [{ APP_BASE_URL: 'https://blog.example.com/inkwell' }, /^APP_BASE_URL: /],
    [{ SESSION_SECRET: 'short' }, /^SESSION_SECRET: /],
    [{ SMTP_URL: 'http://mail' }, /^SMTP_URL: /],
    [{ MAIL_FROM: 'a@b\r\nBcc: x@y' }, /^MAIL_FROM: /],
    [{ RESET_TOKEN_TTL_MINUTES: '0' }, /^RESET_TOKEN_TTL_MINUTES: /],
    [{ RESET_THROTTLE_SECONDS: '-1' }, /^RESET_THROTTLE_SECONDS: /],
    [{ RATE_LIMITS: 'maybe' }, /^RATE_LIMITS: /],
    [{ NODE_ENV: 'staging' }, /^NODE_ENV: /],
  ])('refuses %o with a line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('names every bad variable at once, one line each, in the order of the table', () => {
    const problems = () => {
      try {
        loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', SMTP_URL: 'http://mail', MAIL_FROM: 'Inkwell' });
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems()).toEqual([
      expect.stringMatching(/^PORT: /),
      expect.stringMatching(/^DATABASE_URL: /),
      expect.stringMatching(/^SMTP_URL: /),
    ]);
  });

  it('in production requires a session secret, an SMTP server and an https base URL', () => {
    expect(loadConfig(production).env).toBe('production');
    expect(() => loadConfig({ ...production, SESSION_SECRET: '' })).toThrow(/^SESSION_SECRET: required/);
    expect(() => loadConfig({ ...production, SMTP_URL: '' })).toThrow(/^SMTP_URL: required/);
    expect(() => loadConfig({ ...production, APP_BASE_URL: 'http://blog.example.com' })).toThrow(/^APP_BASE_URL: /);
    expect(() => loadConfig({ ...production, APP_BASE_URL: '' })).toThrow(/^APP_BASE_URL: /);
  });

  it('reads TRUST_PROXY as Express does', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe('loopback, 10.0.0.0/8');
  });

  it('refuses TRUST_PROXY=true in production, where a client could pick its own address; a hop count or addresses pass', () => {
    expect(() => loadConfig({ ...production, TRUST_PROXY: 'true' })).toThrow(/^TRUST_PROXY: true lets clients choose their own address/);
    expect(loadConfig({ ...production, TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ ...production, TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ ...production, TRUST_PROXY: '10.0.0.5' }).trustProxy).toBe('10.0.0.5');
  });

  it('drains for 3 s at a stop in production and not at all elsewhere, unless DRAIN_SECONDS says otherwise', () => {
    expect(loadConfig({ ...production }).drainMs).toBe(3_000);
    expect(loadConfig({}).drainMs).toBe(0);
    expect(loadConfig({ ...production, DRAIN_SECONDS: '0' }).drainMs).toBe(0);
    expect(loadConfig({ DRAIN_SECONDS: '5' }).drainMs).toBe(5_000);
    expect(() => loadConfig({ DRAIN_SECONDS: '6' })).toThrow(/^DRAIN_SECONDS: /);
  });
});
