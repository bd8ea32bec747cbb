// The durable job table: every email (the outbox) and every accepted request that still has work to do.
import { InkwellMigration } from './support/migration.ts';

export class Migration20261127010000_outbox extends InkwellMigration {
  override name = 'Migration20261127010000_outbox';

  override async up(): Promise<void> {
    const { db, varchar, timestamp, serial, serialKey } = this.schema();

    await db.schema
      .createTable('job')
      .addColumn('id', serial, serialKey)
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
