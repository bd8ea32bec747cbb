// The base of every migration in migrations/: one history serves SQLite and Postgres, and only the
// spelling of column types and the shape of unique constraints differ between them. It lives in a
// subfolder because MikroORM runs every migrations/*.ts as a migration; like the migrations it is
// append-only (changing what it emits would rewrite history for fresh installs).
import { Migration } from '@mikro-orm/migrations';
import { PostgreSqlPlatform } from '@mikro-orm/postgresql';
import type { ColumnDefinitionBuilder } from 'kysely';

export abstract class InkwellMigration extends Migration {
  /** Kysely, bound to this migration's transaction, and our column types in the dialect's words. */
  protected schema() {
    const db = this.getEntityManager().getKysely();
    const pg = this.driver.getPlatform() instanceof PostgreSqlPlatform;
    return {
      db,
      pg,
      varchar: (n: number) => (pg ? `varchar(${n})` : 'text') as 'text',
      timestamp: (pg ? 'timestamptz' : 'datetime') as 'timestamptz',
      serial: (pg ? 'serial' : 'integer') as 'integer',
      /** The auto-incrementing id, declared as MikroORM declares it on each dialect. */
      serialKey: (c: ColumnDefinitionBuilder) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()).notNull(),
      /** MikroORM names and shapes uniques differently per dialect; matching it keeps drift at zero. */
      unique: async (table: string, column: string) => {
        const name = `${table}_${column}_unique`;
        if (pg) await db.schema.alterTable(table).addUniqueConstraint(name, [column]).execute();
        else await db.schema.createIndex(name).on(table).column(column).unique().execute();
      },
    };
  }
}
