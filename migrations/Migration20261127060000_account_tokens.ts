// Tokens of the account page's emails: confirming a new address, and "This wasn't me". Like reset
// tokens, only their SHA-256 is stored, and only once the email carrying them is being sent.
import { InkwellMigration } from './support/migration.ts';

export class Migration20261127060000_account_tokens extends InkwellMigration {
  override name = 'Migration20261127060000_account_tokens';

  override async up(): Promise<void> {
    const { db, varchar, timestamp, serial, serialKey, unique } = this.schema();

    await db.schema
      .createTable('account_token')
      .addColumn('id', serial, serialKey)
      .addColumn('user_id', 'integer', (c) => c.notNull())
      .addColumn('purpose', varchar(20), (c) => c.notNull())
      .addColumn('token_hash', varchar(64))
      .addColumn('email', varchar(254))
      .addColumn('expires_at', timestamp, (c) => c.notNull())
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .addForeignKeyConstraint('account_token_user_id_foreign', ['user_id'], 'user', ['id'], (c) => c.onDelete('cascade'))
      .execute();
    await db.schema.createIndex('account_token_user_id_index').on('account_token').column('user_id').execute();
    await db.schema.createIndex('account_token_expires_at_index').on('account_token').column('expires_at').execute();
    await unique('account_token', 'token_hash');
  }

  override async down(): Promise<void> {
    await this.getEntityManager().getKysely().schema.dropTable('account_token').execute();
  }
}
