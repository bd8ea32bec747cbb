// Pending sign-ups and their per-address throttle (issue 16): the account exists only once the
// address confirms it, so a sign-up waits here, with its password already hashed.
import { InkwellMigration } from './support/migration.ts';

export class Migration20261127040000_signups extends InkwellMigration {
  override name = 'Migration20261127040000_signups';

  override async up(): Promise<void> {
    const { db, varchar, timestamp, serial, serialKey, unique } = this.schema();

    await db.schema
      .createTable('signup')
      .addColumn('id', serial, serialKey)
      .addColumn('username', varchar(32), (c) => c.notNull())
      .addColumn('email', varchar(254), (c) => c.notNull())
      .addColumn('password_hash', varchar(255), (c) => c.notNull())
      .addColumn('token_hash', varchar(64))
      .addColumn('expires_at', timestamp, (c) => c.notNull())
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('signup_email_index').on('signup').column('email').execute();
    await unique('signup', 'token_hash');
    await db.schema.createIndex('signup_expires_at_index').on('signup').column('expires_at').execute();

    await db.schema
      .createTable('signup_throttle')
      .addColumn('email', varchar(254), (c) => c.notNull().primaryKey())
      .addColumn('expires_at', timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('signup_throttle_expires_at_index').on('signup_throttle').column('expires_at').execute();
  }

  override async down(): Promise<void> {
    const { db } = this.schema();
    await db.schema.dropTable('signup_throttle').execute();
    await db.schema.dropTable('signup').execute();
  }
}
