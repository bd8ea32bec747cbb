// The shared rate-limit counters and the per-email login throttle (issue "limits").
import { InkwellMigration } from './support/migration.ts';

export class Migration20261127030000_limits extends InkwellMigration {
  override name = 'Migration20261127030000_limits';

  override async up(): Promise<void> {
    const { db, varchar, timestamp } = this.schema();

    await db.schema
      .createTable('rate_limit_hit')
      .addColumn('bucket', varchar(100), (c) => c.notNull().primaryKey())
      .addColumn('hits', 'integer', (c) => c.notNull())
      .addColumn('resets_at', timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('rate_limit_hit_resets_at_index').on('rate_limit_hit').column('resets_at').execute();

    await db.schema
      .createTable('login_throttle')
      .addColumn('email_hash', varchar(64), (c) => c.notNull().primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('last_failed_at', timestamp, (c) => c.notNull())
      .addColumn('blocked_until', timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('login_throttle_last_failed_at_index').on('login_throttle').column('last_failed_at').execute();
  }

  override async down(): Promise<void> {
    const { db } = this.schema();
    await db.schema.dropTable('login_throttle').execute();
    await db.schema.dropTable('rate_limit_hit').execute();
  }
}
