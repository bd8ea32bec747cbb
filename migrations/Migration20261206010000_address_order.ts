// The order of the addresses an account has had: a "This wasn't me" link sent to an earlier address
// must outlive (and win over) everything done from a later one, its own link included.
import { InkwellMigration } from './support/migration.ts';

export class Migration20261206010000_address_order extends InkwellMigration {
  override name = 'Migration20261206010000_address_order';

  override async up(): Promise<void> {
    const { db } = this.schema();
    await db.schema.alterTable('user').addColumn('email_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('account_token').addColumn('email_version', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  }

  override async down(): Promise<void> {
    const { db } = this.schema();
    await db.schema.alterTable('account_token').dropColumn('email_version').execute();
    await db.schema.alterTable('user').dropColumn('email_version').execute();
  }
}
