// `npm run db:copy -- FROM_URL TO_URL`: moves every Inkwell row into a new, empty database
// (typically the SQLite file into Postgres). The source is only read; the target is filled in one transaction.
import { existsSync } from 'node:fs';
import { wrap, type EntityClass } from '@mikro-orm/core';
import { entities } from './entities.ts';
import { isPostgres, migrate, openDatabase, pendingMigrations, type EntityManager, type Orm } from './orm.ts';
import { progressTo, type Progress } from './progress.ts';

// Every table, in entities.ts's order (parents first, so every foreign key holds as rows arrive). So
// the limits' counters come along (a guesser must not get a fresh budget because the site moved
// databases), and so do queued jobs (an accepted request or an unsent email is a promise), the security
// activity, and live pending sign-ups (a confirmation link emailed before the move still works after it).
const TABLES: EntityClass<object>[] = entities;
// Rows per insert: a few hundred keeps statements well under Postgres's 65,535 bind parameters.
const BATCH = 500;

export type Copied = { table: string; copied: number; expired: number };

/** A reason not to copy, for the person running the command (not a bug). */
export class CopyRefused extends Error {}

export async function copyDatabase(fromUrl: string, toUrl: string, now = new Date(), progress: Progress = () => {}): Promise<Copied[]> {
  // Opening a SQLite path that does not exist would create an empty database: a typo must not look like a backup.
  const file = isPostgres(fromUrl) ? null : fromUrl.slice('sqlite:'.length);
  if (file !== null && !existsSync(file)) throw new CopyRefused(`there is no SQLite database at ${file}`);

  const from = await openDatabase(fromUrl);
  let to: Orm | undefined;
  try {
    // The tool reads the source, never migrates it: a backup must stay what it was.
    const pending = await pendingMigrations(from);
    if (pending.length > 0) {
      throw new CopyRefused(`${redact(fromUrl)} has migrations not yet applied; run \`npm run migrate\` on it first`);
    }
    // A target that already holds data is refused before a single source row is read (and checked
    // again inside the transaction that fills it).
    to = await openDatabase(toUrl);
    await migrate(to, toUrl);
    await refuseUnlessEmpty(to.em.fork(), toUrl);
    // Read everything first: the two databases' transactions must not nest (MikroORM would
    // take the inner one for part of the outer), and a blog's accounts fit in memory.
    const tables: Read[] = [];
    for (const entity of TABLES) tables.push(await readTable(from.em.fork(), entity, now, progress));

    const target = to;
    return await target.em.fork().transactional(async (tx) => {
      await refuseUnlessEmpty(tx, toUrl);
      for (const { entity, rows } of tables) {
        const table = tableOf(tx, entity);
        progress({ table, step: 'write', done: 0, total: rows.length });
        for (let i = 0; i < rows.length; i += BATCH) {
          await tx.insertMany(entity, rows.slice(i, i + BATCH));
          progress({ table, step: 'write', done: Math.min(i + BATCH, rows.length), total: rows.length });
        }
        const arrived = await tx.count(entity, {});
        if (arrived !== rows.length) throw new Error(`${tableOf(tx, entity)}: ${rows.length} rows read, ${arrived} arrived`);
      }
      if (isPostgres(toUrl)) await resetSequences(target, tx);
      // Post search: Postgres computes its column from the rows; SQLite's triggers filled FTS5 row by
      // row, and a rebuild makes sure the index matches the table exactly (migrations/…_post_search.ts).
      else await tx.execute(`insert into post_search(post_search) values ('rebuild')`);
      return tables.map(({ entity, rows, expired }) => ({ table: tableOf(tx, entity), copied: rows.length, expired }));
    });
  } finally {
    await from.close();
    await to?.close();
  }
}

async function refuseUnlessEmpty(tx: EntityManager, toUrl: string): Promise<void> {
  const held: string[] = [];
  for (const entity of TABLES) {
    const rows = await tx.count(entity, {});
    if (rows > 0) held.push(`${tableOf(tx, entity)}: ${rows} rows`);
  }
  if (held.length > 0) {
    throw new CopyRefused(`${redact(toUrl)} already holds data (${held.join(', ')}); db:copy only fills a new, empty database`);
  }
}

type Read = { entity: EntityClass<object>; rows: Record<string, unknown>[]; expired: number };

/** The rows still worth having, as plain values with their ids; expired tokens and sessions stay behind. */
async function readTable(source: EntityManager, entity: EntityClass<object>, now: Date, progress: Progress): Promise<Read> {
  const meta = source.getMetadata().get(entity);
  const live = meta.props.some((prop) => prop.name === 'expiresAt') ? { expiresAt: { $gt: now } } : {};
  const total = await source.count(entity, live);
  progress({ table: meta.tableName, step: 'read', done: 0, total });
  // Keyset pagination on the primary key: an OFFSET would rescan every row before it, batch after
  // batch, and a million users would take hours.
  if (meta.primaryKeys.length !== 1) throw new Error(`${meta.tableName}: db:copy pages by a single-column primary key`);
  const [key] = meta.primaryKeys;
  const rows: Record<string, unknown>[] = [];
  let after: unknown;
  for (;;) {
    const where = after === undefined ? live : { ...live, [key]: { $gt: after } };
    const batch = await source.find(entity, where as object, { orderBy: { [key]: 'asc' }, limit: BATCH });
    if (batch.length === 0) break;
    // Explicit ids keep foreign keys and session rows pointing at the same users.
    rows.push(...batch.map((row) => wrap(row).toPOJO()));
    after = rows.at(-1)![key];
    source.clear();
    progress({ table: meta.tableName, step: 'read', done: rows.length, total: Math.max(total, rows.length) });
  }
  // The app should be stopped (see docs/deploying.md); rows written while we read would be missed.
  if ((await source.count(entity, live)) !== rows.length) {
    throw new CopyRefused(`${meta.tableName} changed while it was read; stop Inkwell before copying`);
  }
  return { entity, rows, expired: (await source.count(entity, {})) - rows.length };
}

/** Explicit ids leave Postgres sequences at 1; the next insert would collide without this. */
async function resetSequences(orm: Orm, tx: EntityManager): Promise<void> {
  for (const entity of TABLES) {
    const meta = orm.getMetadata().get(entity);
    for (const key of meta.getPrimaryProps()) {
      if (!key.autoincrement) continue;
      const column = key.fieldNames[0];
      await tx.execute(
        `select setval(pg_get_serial_sequence(?, ?), coalesce(max("${column}"), 0) + 1, false) from "${meta.tableName}"`,
        [`"${meta.tableName}"`, column],
      );
    }
  }
}

function tableOf(tx: EntityManager, entity: EntityClass<object>): string {
  return tx.getMetadata().get(entity).tableName;
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@/]*@/, '$1:***@');
}

if (import.meta.main) {
  const [fromUrl, toUrl] = process.argv.slice(2);
  if (!fromUrl || !toUrl || process.argv.length > 4) {
    console.error('usage: npm run db:copy -- FROM_URL TO_URL   (e.g. sqlite:./data/inkwell.db postgres://user:pass@host/inkwell)');
    process.exit(2);
  }
  try {
    // Progress on stderr, so the summary on stdout stays what a script would read.
    const copied = await copyDatabase(fromUrl, toUrl, new Date(), progressTo(process.stderr));
    for (const { table, copied: rows, expired } of copied) {
      console.log(`${table}: ${rows} copied${expired > 0 ? ` (${expired} expired left behind)` : ''}`);
    }
    console.log(`Done: ${redact(fromUrl)} → ${redact(toUrl)}. Point DATABASE_URL at the new database and start Inkwell.`);
  } catch (err) {
    if (!(err instanceof CopyRefused)) throw err;
    console.error(`db:copy refused: ${err.message}`);
    process.exit(1);
  }
}
