// Sessions stored by a hash of their id, with what their owner needs to recognise them; and the
// account's security activity. Existing sessions are dropped: their ids were stored in the clear.
import { InkwellMigration } from './support/migration.ts';

export class Migration20261127050000_sessions extends InkwellMigration {
  override name = 'Migration20261127050000_sessions';

  override async up(): Promise<void> {
    const { db, varchar, timestamp, serial, serialKey, unique } = this.schema();

    // Everyone logs in once more: a backup of the old table would hold usable session ids.
    await db.schema.dropTable('session').execute();
    await db.schema
      .createTable('session')
      .addColumn('sid_hash', varchar(64), (c) => c.notNull().primaryKey())
      .addColumn('public_id', varchar(32), (c) => c.notNull())
      .addColumn('user_id', 'integer')
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('ip', varchar(64))
      .addColumn('user_agent', varchar(512))
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .addColumn('last_seen_at', timestamp, (c) => c.notNull())
      .addColumn('expires_at', timestamp, (c) => c.notNull())
      .addForeignKeyConstraint('session_user_id_foreign', ['user_id'], 'user', ['id'], (c) => c.onDelete('cascade'))
      .execute();
    await unique('session', 'public_id');
    await db.schema.createIndex('session_user_id_index').on('session').column('user_id').execute();
    await db.schema.createIndex('session_last_seen_at_index').on('session').column('last_seen_at').execute();
    await db.schema.createIndex('session_expires_at_index').on('session').column('expires_at').execute();

    await db.schema
      .createTable('security_event')
      .addColumn('id', serial, serialKey)
      .addColumn('user_id', 'integer', (c) => c.notNull())
      .addColumn('kind', varchar(40), (c) => c.notNull())
      .addColumn('at', timestamp, (c) => c.notNull())
      .addColumn('ip', varchar(64))
      .addColumn('device', varchar(120))
      .addColumn('count', 'integer', (c) => c.notNull().defaultTo(1))
      .addForeignKeyConstraint('security_event_user_id_foreign', ['user_id'], 'user', ['id'], (c) => c.onDelete('cascade'))
      .execute();
    await db.schema.createIndex('security_event_user_id_index').on('security_event').column('user_id').execute();
    await db.schema.createIndex('security_event_at_index').on('security_event').column('at').execute();
  }

  override async down(): Promise<void> {
    const { db, varchar, timestamp } = this.schema();
    await db.schema.dropTable('security_event').execute();
    await db.schema.dropTable('session').execute();
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
  }
}
