// Database faults: telling "the database is unavailable right now" from a bug, and making sure a
// transaction whose ROLLBACK fails gives its connection back instead of wedging the pool (each
// dialect's driver, in postgres-driver.ts and sqlite-driver.ts, applies it).
import { CompiledQuery, type DatabaseConnection, type Dialect, type Driver } from 'kysely';

// Socket errors, Postgres SQLSTATEs (class 08 connection, 57P0x shutdown, 53xxx out of resources)
// and SQLite result codes that mean "cannot serve now", not "this request is wrong".
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect', // pg-pool: no connection within connectionTimeoutMillis
  'is not queryable',
  'database or disk is full',
  'database is locked',
  'Database connection timed out',
  'is not currently accepting connections', // 55000: the database was closed to connections (maintenance)
];

/** Whether `err` (or what caused it) says the database cannot be reached or cannot take work now. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = String((e as Error & { code?: unknown }).code ?? '');
    if (NETWORK_CODES.has(code)) return true;
    if (/^(08|57P0|53)/.test(code)) return true;
    if (/^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOMEM)/.test(code)) return true;
    if (UNAVAILABLE_MESSAGES.some((m) => e instanceof Error && e.message.includes(m))) return true;
    if (e instanceof AggregateError && e.errors.some(isDatabaseUnavailable)) return true;
  }
  return false;
}

/**
 * Kysely hands a transaction's connection back only after a BEGIN and a ROLLBACK that succeeded,
 * and MikroORM swallows a failed ROLLBACK: one failure (a Postgres restart mid-transaction, SQLite's
 * "disk full" that had already ended the transaction) kept a pooled connection, or SQLite's only
 * connection, forever. This driver wrapper reports such a failure and lets the connection go:
 * - Postgres: BEGIN or ROLLBACK fails when the connection is broken. If it still answers, the
 *   server ends its session, so nothing can run on it outside a transaction and pg-pool discards
 *   it on release (it is no longer queryable).
 * - SQLite: ROLLBACK fails only when no transaction is open any more (SQLite rolled back itself
 *   on SQLITE_FULL/IOERR/BUSY), so its one connection is fine to reuse.
 * A failed BEGIN is not rethrown (Kysely would keep the connection): the transaction's first
 * statement fails on the broken connection instead, and the ROLLBACK that follows releases it.
 */
export function releasingFailedTransactions<D extends Dialect>(dialect: D, onFailure: (what: string, err: Error) => void, postgres: boolean): D {
  const createDriver = dialect.createDriver.bind(dialect);
  return new Proxy(dialect, {
    get(target, prop, receiver) {
      if (prop !== 'createDriver') return Reflect.get(target, prop, receiver);
      return () => {
        const driver = createDriver();
        const guarded = (what: string, step: (connection: DatabaseConnection, ...rest: any[]) => Promise<void>) =>
          async (connection: DatabaseConnection, ...rest: any[]) => {
            try {
              await step(connection, ...rest);
            } catch (err) {
              onFailure(what, err as Error);
              if (postgres) await connection.executeQuery(CompiledQuery.raw('select pg_terminate_backend(pg_backend_pid())')).catch(() => {});
            }
          };
        const beginTransaction = guarded('BEGIN', driver.beginTransaction.bind(driver));
        const rollbackTransaction = guarded('ROLLBACK', driver.rollbackTransaction.bind(driver));
        return new Proxy(driver, {
          get(d, name) {
            if (name === 'beginTransaction') return beginTransaction;
            if (name === 'rollbackTransaction') return rollbackTransaction;
            const value = Reflect.get(d, name);
            return typeof value === 'function' ? value.bind(d) : value;
          },
        }) satisfies Driver;
      };
    },
  });
}

export const transactionFailed = (logger: { error: (ns: string, msg: string) => void }) => (what: string, err: Error) =>
  logger.error('query', `${what} failed (${err.message}); the transaction's connection is released`);
