// Opens the database named by DATABASE_URL (SQLite or Postgres) and applies migrations.
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, type LoggerOptions, type LoggerNamespace, type MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver, EntityManager } from '@mikro-orm/sql';
import type { Migrator } from '@mikro-orm/migrations';
import type { Logger } from '../log.ts';
import { entities } from './entities.ts';

/** Either dialect, seen through what they share. */
export type Orm = MikroORM<AbstractSqlDriver, EntityManager>;
export type { EntityManager };

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));

// Any fixed number: every Inkwell instance on one Postgres takes the same lock.
export const MIGRATION_LOCK = 0x1a4b_3e11;

// A request waits this long for a pooled Postgres connection (or for connecting), then fails with a
// 503, instead of queueing forever behind a pool that cannot give one.
export const ACQUIRE_TIMEOUT_MS = 3_000;
// How long a statement waits for another process's SQLite write lock. better-sqlite3 waits
// synchronously, so this is also how long the whole process can freeze (a backup done wrong).
export const SQLITE_BUSY_TIMEOUT_MS = 1_000;

export function isPostgres(url: string): boolean {
  return /^postgres(ql)?:/.test(url);
}

/**
 * Connects without touching the schema; call `migrate` before serving. MikroORM's own warnings and
 * errors (a failed ROLLBACK, a dropped connection) go to `log`; SQL only to `logQuery`.
 */
export async function openDatabase(url: string, options: { logQuery?: (sql: string) => void; log?: Logger } = {}): Promise<Orm> {
  const common = {
    entities,
    extensions: [DEFERRED_MIGRATOR],
    migrations: { path: MIGRATIONS, glob: '*.ts', snapshot: false, silent: true, transactional: true },
    debug: options.logQuery ? ['query' as const] : false,
    logger: options.logQuery ?? (() => {}),
    loggerFactory: (loggerOptions: LoggerOptions) => new OrmLogger(loggerOptions, options.log),
    colors: false,
    allowGlobalContext: false,
    // Post search lives outside the entities (migrations/Migration20261206031000_post_search.ts): FTS5's
    // virtual table and its shadow tables on SQLite, a generated tsvector column on Postgres. The
    // schema tools (and so the drift check) leave them alone.
    schemaGenerator: { skipTables: [/^post_search(_\w+)?$/], skipColumns: { post: ['post_search'], 'public.post': ['post_search'] } },
  };
  // Each dialect's package costs ~350 ms to import: only the one in use is loaded.
  if (isPostgres(url)) {
    const { MikroORM: PostgresORM, SafePostgreSqlDriver } = await import('./postgres-driver.ts');
    // (`driver` makes MikroORM type the EntityManager as the core one; it is the SQL one, as without.)
    return (await PostgresORM.init({
      ...common,
      driver: SafePostgreSqlDriver,
      clientUrl: url,
      pool: { min: 0, max: 10 },
      driverOptions: { connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS },
    })) as unknown as Orm;
  }
  const path = url.slice('sqlite:'.length);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const { MikroORM: SqliteORM, SafeSqliteDriver } = await import('./sqlite-driver.ts');
  const orm = (await SqliteORM.init({ ...common, driver: SafeSqliteDriver, dbName: path })) as unknown as Orm;
  // WAL lets readers (and a backup) run beside the one writer. synchronous=FULL syncs the WAL at
  // every commit, so a commit that answered survives a power cut; better-sqlite3 would otherwise
  // reopen WAL databases with NORMAL (last commits lost on power failure). Cost: docs/operations.md.
  await orm.em.getConnection().execute('pragma journal_mode = wal');
  await orm.em.getConnection().execute('pragma synchronous = full');
  await orm.em.getConnection().execute(`pragma busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  await orm.em.getConnection().execute('pragma foreign_keys = on');
  // Statement journals and sorts (the search index's triggers, a migration's table rebuild) stay in
  // memory: SQLite's default is a file in /var/tmp, outside the one folder the container may write.
  await orm.em.getConnection().execute('pragma temp_store = memory');
  return orm;
}

// MikroORM.init imports @mikro-orm/migrations (~300 ms) unless it is given an extension named
// Migrator. This one registers nothing; `loadMigrator` registers the real one when it is needed.
const DEFERRED_MIGRATOR = { name: 'Migrator', register: () => {} };

/** `orm.migrator`, importing and registering @mikro-orm/migrations the first time it is asked for. */
export async function loadMigrator(orm: Orm): Promise<Migrator> {
  if (!orm.config.getExtension('@mikro-orm/migrator')) (await import('@mikro-orm/migrations')).Migrator.register(orm);
  return orm.migrator as Migrator;
}

/**
 * The migrations in migrations/ that MikroORM's table does not list as applied, found without the
 * migrator: its file discovery and MikroORM's naming (the file name without `.ts`).
 */
export async function pendingMigrations(orm: Orm): Promise<string[]> {
  const files = readdirSync(MIGRATIONS).filter((file) => file.endsWith('.ts')).map((file) => file.slice(0, -'.ts'.length));
  let applied: Set<string>;
  try {
    const rows = await orm.em.getConnection().execute<{ name: string }[]>('select name from mikro_orm_migrations');
    applied = new Set(rows.map((row) => row.name));
  } catch {
    // A new database has no table yet; any other failure shows again when the migrator runs.
    return files;
  }
  return files.filter((name) => !applied.has(name)).sort();
}

/** MikroORM's logger: SQL to `logQuery` when asked for, its warnings and errors always to ours. */
class OrmLogger extends DefaultLogger {
  readonly #log: Logger | undefined;

  constructor(options: LoggerOptions, log: Logger | undefined) {
    super(options);
    this.#log = log;
  }

  override error(namespace: LoggerNamespace | string, message: string): void {
    this.#log?.error({ orm: namespace }, message);
  }

  override warn(namespace: LoggerNamespace | string, message: string): void {
    this.#log?.warn({ orm: namespace }, message);
  }
}

/**
 * Applies pending migrations. On Postgres they run in one transaction that first takes a
 * transaction-scoped advisory lock, so instances that start together take turns and the second
 * finds nothing left to do. Transaction-scoped, not a session lock on a connection of its own: behind
 * PgBouncer in transaction mode a session lock and its unlock can land on different server
 * connections (duplicate tables, or a lock left behind that hangs the next deploy); this one ends
 * with the transaction, whatever happens to the process.
 */
export async function migrate(orm: Orm, url: string): Promise<string[]> {
  // Most starts find every migration applied, and need not load the migrator at all.
  if ((await pendingMigrations(orm)).length === 0) return [];
  await loadMigrator(orm);
  if (!isPostgres(url)) return (await orm.migrator.up()).map((m) => m.name);
  const connection = orm.em.getConnection();
  return connection.transactional(async (trx) => {
    await connection.execute('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK], 'all', trx);
    return (await orm.migrator.up({ transaction: trx })).map((m) => m.name);
  });
}

/** The schema changes that would bring the live database in line with the entities ("" when none). */
export async function schemaDrift(orm: Orm): Promise<string> {
  const sql = await orm.schema.getUpdateSchemaSQL({ wrap: false });
  // Post search's triggers (SQLite) and index (Postgres) are not entities either (see skipTables above).
  return sql.split('\n').filter((statement) => !SEARCH_OBJECT.test(statement)).join('\n');
}
const SEARCH_OBJECT = /["`]post_search(_\w+)?["`]/;
