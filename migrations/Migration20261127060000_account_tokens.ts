// Tokens of the account page's emails: confirming a new address, and "This wasn't me". Like reset
// tokens, only their SHA-256 is stored, and only once the email carrying them is being sent.
import { Migration } from '@mikro-orm/migrations';
import { PostgreSqlPlatform } from '@mikro-orm/postgresql';

export class Migration20261127060000_account_tokens extends Migration {
  override name = 'Migration20261127060000_account_tokens';

  override async up(): Promise<void> {
    const db = this.getEntityManager().getKysely();
    const pg = this.driver.getPlatform() instanceof PostgreSqlPlatform;
    const varchar = (n: number) => (pg ? `varchar(${n})` : 'text') as 'text';
    const timestamp = (pg ? 'timestamptz' : 'datetime') as 'timestamptz';
    const serial = pg ? 'serial' : 'integer';

    await db.schema
      .createTable('account_token')
      .addColumn('id', serial, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()).notNull())
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
    const name = 'account_token_token_hash_unique';
    if (pg) await db.schema.alterTable('account_token').addUniqueConstraint(name, ['token_hash']).execute();
    else await db.schema.createIndex(name).on('account_token').column('token_hash').unique().execute();
  }

  override async down(): Promise<void> {
    await this.getEntityManager().getKysely().schema.dropTable('account_token').execute();
  }
}
