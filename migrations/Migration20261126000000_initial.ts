// Users, password reset tokens and sessions. One history for both dialects: Kysely's schema
// builder writes the SQL, and only the column types differ between SQLite and Postgres.
import { InkwellMigration } from './support/migration.ts';

export class Migration20261126000000_initial extends InkwellMigration {
  override name = 'Migration20261126000000_initial';

  override async up(): Promise<void> {
    const { db, varchar, timestamp, serial, serialKey, unique } = this.schema();

    await db.schema
      .createTable('user')
      .addColumn('id', serial, serialKey)
      .addColumn('username', varchar(32), (c) => c.notNull())
      .addColumn('email', varchar(254), (c) => c.notNull())
      .addColumn('password_hash', varchar(255), (c) => c.notNull())
      .addColumn('credential_version', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('reset_requested_at', timestamp)
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .addColumn('updated_at', timestamp, (c) => c.notNull())
      .execute();
    await unique('user', 'username');
    await unique('user', 'email');

    await db.schema
      .createTable('session')
      .addColumn('sid', varchar(64), (c) => c.notNull().primaryKey())
      .addColumn('user_id', 'integer')
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('expires_at', timestamp, (c) => c.notNull())
      .addForeignKeyConstraint('session_user_id_foreign', ['user_id'], 'user', ['id'], (c) => c.onDelete('cascade'))
      .execute();
    await db.schema.createIndex('session_user_id_index').on('session').column('user_id').execute();
    await db.schema.createIndex('session_expires_at_index').on('session').column('expires_at').execute();

    await db.schema
      .createTable('password_reset_token')
      .addColumn('id', serial, serialKey)
      .addColumn('user_id', 'integer', (c) => c.notNull())
      .addColumn('token_hash', varchar(64), (c) => c.notNull())
      .addColumn('expires_at', timestamp, (c) => c.notNull())
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .addForeignKeyConstraint('password_reset_token_user_id_foreign', ['user_id'], 'user', ['id'], (c) =>
        c.onDelete('cascade'),
      )
      .execute();
    await db.schema.createIndex('password_reset_token_user_id_index').on('password_reset_token').column('user_id').execute();
    await unique('password_reset_token', 'token_hash');
    await db.schema
      .createIndex('password_reset_token_expires_at_index')
      .on('password_reset_token')
      .column('expires_at')
      .execute();
  }

  override async down(): Promise<void> {
    const { db } = this.schema();
    await db.schema.dropTable('password_reset_token').execute();
    await db.schema.dropTable('session').execute();
    await db.schema.dropTable('user').execute();
  }
}
