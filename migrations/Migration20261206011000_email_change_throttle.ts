// At most one email-change confirmation per target address per window, like sign-up's (issue 30, finding 6).
import { InkwellMigration } from './support/migration.ts';

export class Migration20261206011000_email_change_throttle extends InkwellMigration {
  override name = 'Migration20261206011000_email_change_throttle';

  override async up(): Promise<void> {
    const { db, varchar, timestamp } = this.schema();
    await db.schema
      .createTable('email_change_throttle')
      .addColumn('email', varchar(254), (c) => c.notNull().primaryKey())
      .addColumn('expires_at', timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('email_change_throttle_expires_at_index').on('email_change_throttle').column('expires_at').execute();
  }

  override async down(): Promise<void> {
    await this.getEntityManager().getKysely().schema.dropTable('email_change_throttle').execute();
  }
}
