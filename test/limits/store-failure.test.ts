// When the database refuses connections, the limits let requests through with a warning: the route
// answers as the outage dictates (a login cannot work without its database), and nothing crashes.
import { mkdirSync, renameSync, rmdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withClient } from '../support/postgres.ts';
import { dialects, startHarness, type Harness } from '../support/harness.ts';

describe.each(dialects())('limits when the database is down, on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { RATE_LIMITS: 'on', TRUST_PROXY: '1' } });
  });
  afterAll(() => h.close());

  const dbName = () => h.db.url.replace(/^.*\//, '');
  /**
   * Postgres: the database stops accepting connections and loses the ones it had. SQLite: the
   * connection is closed and the file cannot be opened again (a directory stands in its place).
   */
  async function takeDatabaseDown() {
    if (dialect === 'sqlite') {
      const file = h.db.sqliteFile!;
      await h.orm.close(true);
      renameSync(file, `${file}.away`);
      mkdirSync(file);
      return;
    }
    await withClient(inject('postgresUrl'), async (c) => {
      await c.query(`alter database ${dbName()} with allow_connections false`);
      await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [dbName()]);
    });
  }
  async function bringDatabaseBack() {
    if (dialect === 'sqlite') {
      const file = h.db.sqliteFile!;
      rmdirSync(file);
      renameSync(`${file}.away`, file);
      return;
    }
    await withClient(inject('postgresUrl'), (c) => c.query(`alter database ${dbName()} with allow_connections true`));
  }

  const login = () =>
    h.request().post('/api/auth/login').set('X-Forwarded-For', '203.0.113.50').send({ email: 'someone@example.com', password: 'a guess' });

  it('a limited route answers as the outage dictates, with a warning logged, and works again afterwards', async () => {
    expect((await login()).status).toBe(401);
    await takeDatabaseDown();
    try {
      const during = await login();
      // The limiter lets it through; the login itself cannot reach the database: an honest 503.
      expect(during.status).toBe(503);
      expect(during.body.error.code).toBe('unavailable');
      // Forgot cannot record the request either, so it promises nothing (no 202).
      const forgot = await h.request().post('/api/users/forgot-password').set('X-Forwarded-For', '203.0.113.50').send({ email: 'someone@example.com' });
      expect(forgot.status).toBe(503);
      await h.request().get('/healthz').expect(200);
      await h.request().get('/readyz').expect(503);
      const warnings = h.logs.filter((line) => line.includes('limit store failed; request let through'));
      expect(warnings.some((line) => line.includes('"limit":"login"'))).toBe(true);
      expect(warnings.some((line) => line.includes('"limit":"forgot"'))).toBe(true);
      expect(warnings.some((line) => line.includes('"limit":"login_email"'))).toBe(true);
      expect(warnings.every((line) => line.includes('"level":40'))).toBe(true);
    } finally {
      await bringDatabaseBack();
    }
    // Counting resumes where it was: one login before, none counted during the outage.
    for (let i = 2; i <= 10; i++) {
      const res = await h.request().post('/api/auth/login').set('X-Forwarded-For', '203.0.113.50').send({ email: `x${i}@example.com`, password: 'a guess' });
      expect(res.status).toBe(401);
    }
    expect((await login()).status).toBe(429);
  });
});
