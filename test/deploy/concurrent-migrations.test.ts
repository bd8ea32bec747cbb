// Instances that start together on one fresh Postgres database migrate it exactly once.
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MIGRATION_LOCK, openDatabase, schemaDrift } from '../../src/db/orm.ts';
import { runMain } from '../support/app-process.ts';
import { createDatabase, type TestDatabase } from '../support/harness.ts';
import { until } from '../support/net.ts';

describe.skipIf(!inject('postgresUrl'))('start-up migrations with several instances (Postgres)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createDatabase('postgres');
  });
  afterAll(() => db?.drop());

  // Generous: on a loaded 2-core machine a Node process takes 10-20 s just to start.
  it('two processes migrating at the same moment both succeed; the migration runs once, with zero drift', { timeout: 180_000 }, async () => {
    // The test holds the migration lock first, so both processes are surely queued on it together;
    // released, they race exactly as two containers started by one deploy would.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
      const env = { DATABASE_URL: db.url };
      const runs = [runMain(env, ['migrate']), runMain(env, ['migrate'])];
      await until(async () => {
        const { rows } = await holder.query(
          `select count(*)::int as n from pg_locks
            where locktype = 'advisory' and objid = $1 and not granted
              and database = (select oid from pg_database where datname = current_database())`,
          [MIGRATION_LOCK],
        );
        return rows[0].n === 2;
      }, 'both processes to queue on the migration lock', 90_000);
      await holder.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);

      const results = await Promise.all(runs);
      for (const result of results) expect(result, result.stdout + result.stderr).toMatchObject({ code: 0, signal: null });
      // One of them applied the migration; the other found nothing left to do.
      const applying = results.filter((r) => r.stdout.includes('migrations applied'));
      expect(applying).toHaveLength(1);

      // Each migration in the folder exactly once (the list grows with every branch that adds one).
      const files = readdirSync(new URL('../../migrations', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
      const { rows } = await holder.query('select name from mikro_orm_migrations order by name');
      expect(rows.map((r) => r.name)).toEqual(files.sort());
    } finally {
      await holder.end();
    }
    const orm = await openDatabase(db.url);
    try {
      expect(await schemaDrift(orm)).toBe('');
    } finally {
      await orm.close();
    }
  });
});

