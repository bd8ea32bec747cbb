// The durable job table: every email (the outbox) and every accepted request that still has work to do.
import { Migration } from '@mikro-orm/migrations';
import { PostgreSqlPlatform } from '@mikro-orm/postgresql';

export class Migration20261127010000_outbox extends Migration {
  override name = 'Migration20261127010000_outbox';

  override async up(): Promise<void> {
    const db = this.getEntityManager().getKysely();
    const pg = this.driver.getPlatform() instanceof PostgreSqlPlatform;
    const varchar = (n: number) => (pg ? `varchar(${n})` : 'text') as 'text';
    const timestamp = (pg ? 'timestamptz' : 'datetime') as 'timestamptz';
    const serial = pg ? 'serial' : 'integer';

    await db.schema
      .createTable('job')
      .addColumn('id', serial, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()).notNull())
      .addColumn('kind', varchar(64), (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('run_at', timestamp, (c) => c.notNull())
      .addColumn('finished_at', timestamp)
      .addColumn('dead_at', timestamp)
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('job_run_at_index').on('job').column('run_at').execute();
  }

  override async down(): Promise<void> {
    await this.getEntityManager().getKysely().schema.dropTable('job').execute();
  }
}
