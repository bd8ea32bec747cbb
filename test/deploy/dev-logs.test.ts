// In development the log is for a person: readable lines, still redacted. Production stays JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../support/net.ts';
import { spawnApp } from '../support/raw-process.ts';

describe('development logs', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'inkwell-devlog-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('npm start in development prints readable lines, with the token in a URL still redacted', async () => {
    const app = await spawnApp({ NODE_ENV: 'development', DATABASE_URL: `sqlite:${join(dir, 'dev.db')}` }, 'pipe');
    let out = '';
    app.child.stdout!.on('data', (chunk) => (out += chunk));
    const secret = 'SECRET-TOKEN-VALUE-0123456789abcdef';
    await fetch(`${app.url}/reset-password?token=${secret}`, { redirect: 'manual' });
    await until(() => out.includes('/reset-password'), 'the request to be logged');
    const exit = await app.terminate();

    expect(exit.code).toBe(0);
    expect(out).toMatch(/INFO.*request completed/);
    expect(out).toContain('stopped');
    expect(out).toContain('token=[redacted]');
    expect(out).not.toContain(secret);
    expect(out.split('\n').filter((line) => line.startsWith('{"level"'))).toEqual([]);
  });
});
