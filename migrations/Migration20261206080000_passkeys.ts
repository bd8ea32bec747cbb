// Passkeys: each account's random WebAuthn user handle, its credentials (public keys only), and the
// challenges waiting for an answer; and, on "This wasn't me" links, the time of the event they report.
import { InkwellMigration } from './support/migration.ts';

export class Migration20261206080000_passkeys extends InkwellMigration {
  override name = 'Migration20261206080000_passkeys';

  override async up(): Promise<void> {
    const { db, pg, varchar, timestamp, serial, serialKey, unique } = this.schema();

    await db.schema
      .createTable('passkey_user')
      .addColumn('id', serial, serialKey)
      .addColumn('user_id', 'integer', (c) => c.notNull())
      .addColumn('handle', varchar(64), (c) => c.notNull())
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .addForeignKeyConstraint('passkey_user_user_id_foreign', ['user_id'], 'user', ['id'], (c) => c.onDelete('cascade'))
      .execute();
    await unique('passkey_user', 'user_id');
    // MikroORM expects SQLite's foreign key to have its own index beside the unique one.
    if (!pg) await db.schema.createIndex('passkey_user_user_id_index').on('passkey_user').column('user_id').execute();
    await unique('passkey_user', 'handle');

    await db.schema
      .createTable('passkey')
      .addColumn('id', serial, serialKey)
      .addColumn('user_id', 'integer', (c) => c.notNull())
      .addColumn('credential_id', varchar(1400), (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('counter', 'bigint', (c) => c.notNull())
      .addColumn('transports', varchar(200))
      .addColumn('device_type', varchar(20), (c) => c.notNull())
      .addColumn('backed_up', pg ? 'boolean' : 'integer', (c) => c.notNull())
      .addColumn('aaguid', varchar(36), (c) => c.notNull())
      .addColumn('name', varchar(64), (c) => c.notNull())
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .addColumn('last_used_at', timestamp)
      .addForeignKeyConstraint('passkey_user_id_foreign', ['user_id'], 'user', ['id'], (c) => c.onDelete('cascade'))
      .execute();
    await db.schema.createIndex('passkey_user_id_index').on('passkey').column('user_id').execute();
    await unique('passkey', 'credential_id');
    await db.schema.createIndex('passkey_created_at_index').on('passkey').column('created_at').execute();

    await db.schema
      .createTable('passkey_challenge')
      .addColumn('id', serial, serialKey)
      .addColumn('ceremony', varchar(20), (c) => c.notNull())
      .addColumn('challenge_hash', varchar(64), (c) => c.notNull())
      .addColumn('user_id', 'integer')
      .addColumn('expires_at', timestamp, (c) => c.notNull())
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .addForeignKeyConstraint('passkey_challenge_user_id_foreign', ['user_id'], 'user', ['id'], (c) => c.onDelete('cascade'))
      .execute();
    await db.schema.createIndex('passkey_challenge_user_id_index').on('passkey_challenge').column('user_id').execute();
    await db.schema.createIndex('passkey_challenge_expires_at_index').on('passkey_challenge').column('expires_at').execute();

    await db.schema.alterTable('account_token').addColumn('reported_at', timestamp).execute();
  }

  override async down(): Promise<void> {
    const db = this.getEntityManager().getKysely();
    await db.schema.alterTable('account_token').dropColumn('reported_at').execute();
    for (const table of ['passkey_challenge', 'passkey', 'passkey_user']) await db.schema.dropTable(table).execute();
  }
}
