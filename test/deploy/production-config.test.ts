// Production refuses to start without its secrets and an https origin, naming each bad variable in one line.
import { describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { PRODUCTION_ENV, runMain } from '../support/app-process.ts';

const MISSING = [
  ['SESSION_SECRET', { SESSION_SECRET: '' }],
  ['SMTP_URL', { SMTP_URL: '' }],
  ['APP_BASE_URL', { APP_BASE_URL: '' }],
  ['APP_BASE_URL', { APP_BASE_URL: 'http://inkwell.test' }],
  ['SESSION_SECRET', { SESSION_SECRET: 'too-short' }],
  ['TRUST_PROXY', { TRUST_PROXY: 'true' }],
] as const;

describe.skipIf(!inject('postgresUrl'))('production start-up checks', () => {
  const valid = () => ({ ...PRODUCTION_ENV, DATABASE_URL: inject('postgresUrl'), SMTP_URL: 'smtp://127.0.0.1:2525' });

  it('a complete production configuration loads', () => {
    expect(loadConfig(valid()).env).toBe('production');
  });

  it.each(MISSING)('loadConfig names %s when it is %j', (variable, change) => {
    expect(() => loadConfig({ ...valid(), ...change })).toThrow(ConfigError);
    expect(() => loadConfig({ ...valid(), ...change })).toThrow(new RegExp(`^${variable}: `));
  });

  it('the process exits 1 with one line naming each missing variable, and logs nothing else', async () => {
    const runs = await Promise.all(
      MISSING.slice(0, 3).map(async ([variable, change]) => ({ variable, result: await runMain({ ...valid(), ...change }) })),
    );
    for (const { variable, result } of runs) {
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^Configuration error: ${variable}: `))]);
      expect(result.stdout).toBe('');
    }
  });

  it('a configuration with three mistakes prints three lines, one naming each', async () => {
    const result = await runMain({ ...valid(), PORT: 'eighty', SESSION_SECRET: 'too-short', SMTP_URL: 'http://mail.example.com' });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^Configuration error: PORT: /),
      expect.stringMatching(/^Configuration error: SESSION_SECRET: /),
      expect.stringMatching(/^Configuration error: SMTP_URL: /),
    ]);
  });
});
