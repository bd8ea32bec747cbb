// Opens the database named by DATABASE_URL (SQLite or Postgres) and applies migrations.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver, EntityManager } from '@mikro-orm/sql';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM as PostgresORM } from '@mikro-orm/postgresql';
import { MikroORM as SqliteORM } from '@mikro-orm/sqlite';
import pg from 'pg';
import { entities } from './entities.ts';

/** Either dialect, seen through what they share. */
export type Orm = MikroORM<AbstractSqlDriver, EntityManager>;
export type { EntityManager };

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));

// Any fixed number: every Inkwell instance on one Postgres takes the same lock.
export const MIGRATION_LOCK = 0x1a4b_3e11;

export function isPostgres(url: string): boolean {
  return /^postgres(ql)?:/.test(url);
}

/** Connects without touching the schema; call `migrate` before serving. */
export async function openDatabase(url: string, options: { logQuery?: (sql: string) => void } = {}): Promise<Orm> {
  const common = {
    entities,
    extensions: [Migrator],
    migrations: { path: MIGRATIONS, glob: '*.ts', snapshot: false, silent: true, transactional: true },
    debug: options.logQuery ? ['query' as const] : false,
    logger: options.logQuery ?? (() => {}),
    colors: false,
    allowGlobalContext: false,
  };
  if (isPostgres(url)) {
    return (await PostgresORM.init({ ...common, clientUrl: url, pool: { min: 0, max: 10 } })) as Orm;
  }
  const path = url.slice('sqlite:'.length);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const orm = (await SqliteORM.init({ ...common, dbName: path })) as Orm;
  // WAL lets readers run beside the one writer; the busy timeout waits out a writer instead of failing.
  await orm.em.getConnection().execute('pragma journal_mode = wal');
  await orm.em.getConnection().execute('pragma busy_timeout = 5000');
  await orm.em.getConnection().execute('pragma foreign_keys = on');
  return orm;
}

/**
 * Applies pending migrations. On Postgres an advisory lock, held on its own connection,
 * makes instances that start together take turns; the second finds nothing left to do.
 */
export async function migrate(orm: Orm, url: string): Promise<string[]> {
  if (!isPostgres(url)) return (await orm.migrator.up()).map((m) => m.name);
  const lock = new pg.Client({ connectionString: url });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    return (await orm.migrator.up()).map((m) => m.name);
  } finally {
    await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    await lock.end();
  }
}

/** The schema changes that would bring the live database in line with the entities ("" when none). */
export function schemaDrift(orm: Orm): Promise<string> {
  return orm.schema.getUpdateSchemaSQL({ wrap: false });
}
