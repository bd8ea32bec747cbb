// Two-step verification: the authenticator secret (encrypted), recovery codes (hashed), and pending
// sign-ins (a first factor passed, the second not yet). Every sign-in path ends in src/accounts/sign-in.ts.
import { InkwellMigration } from './support/migration.ts';

export class Migration20261206020000_two_step extends InkwellMigration {
  override name = 'Migration20261206020000_two_step';

  override async up(): Promise<void> {
    const { db, pg, varchar, timestamp, serial, serialKey, unique } = this.schema();

    await db.schema
      .createTable('two_step')
      .addColumn('id', serial, serialKey)
      .addColumn('user_id', 'integer', (c) => c.notNull())
      .addColumn('secret', varchar(255), (c) => c.notNull())
      .addColumn('enabled_at', timestamp)
      .addColumn('last_step', 'integer')
      .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('locked_until', timestamp)
      .addColumn('failure_noticed_at', timestamp)
      .addColumn('removal_due_at', timestamp)
      .addColumn('removal_warned_at', timestamp)
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .addForeignKeyConstraint('two_step_user_id_foreign', ['user_id'], 'user', ['id'], (c) => c.onDelete('cascade'))
      .execute();
    await unique('two_step', 'user_id');
    // MikroORM expects SQLite's foreign key to have its own index beside the unique one.
    if (!pg) await db.schema.createIndex('two_step_user_id_index').on('two_step').column('user_id').execute();
    await db.schema.createIndex('two_step_removal_due_at_index').on('two_step').column('removal_due_at').execute();

    await db.schema
      .createTable('recovery_code')
      .addColumn('id', serial, serialKey)
      .addColumn('user_id', 'integer', (c) => c.notNull())
      .addColumn('code_hash', varchar(64), (c) => c.notNull())
      .addColumn('used_at', timestamp)
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .addForeignKeyConstraint('recovery_code_user_id_foreign', ['user_id'], 'user', ['id'], (c) => c.onDelete('cascade'))
      .execute();
    await db.schema.createIndex('recovery_code_user_id_index').on('recovery_code').column('user_id').execute();
    await unique('recovery_code', 'code_hash');

    await db.schema
      .createTable('pending_sign_in')
      .addColumn('id', serial, serialKey)
      .addColumn('user_id', 'integer', (c) => c.notNull())
      .addColumn('method', varchar(20), (c) => c.notNull())
      .addColumn('credential_version', 'integer', (c) => c.notNull())
      .addColumn('tries_left', 'integer', (c) => c.notNull())
      .addColumn('expires_at', timestamp, (c) => c.notNull())
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .addForeignKeyConstraint('pending_sign_in_user_id_foreign', ['user_id'], 'user', ['id'], (c) => c.onDelete('cascade'))
      .execute();
    await db.schema.createIndex('pending_sign_in_user_id_index').on('pending_sign_in').column('user_id').execute();
    await db.schema.createIndex('pending_sign_in_expires_at_index').on('pending_sign_in').column('expires_at').execute();
  }

  override async down(): Promise<void> {
    const db = this.getEntityManager().getKysely();
    for (const table of ['pending_sign_in', 'recovery_code', 'two_step']) await db.schema.dropTable(table).execute();
  }
}
