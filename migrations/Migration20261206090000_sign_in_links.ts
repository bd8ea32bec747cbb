// Sign-in links: the per-account throttle window of "email me a sign-in link". The links themselves are
// account tokens (purpose 'sign_in'), hashed like every other emailed token.
import { InkwellMigration } from './support/migration.ts';

export class Migration20261206090000_sign_in_links extends InkwellMigration {
  override name = 'Migration20261206090000_sign_in_links';

  override async up(): Promise<void> {
    const { db, timestamp } = this.schema();
    await db.schema.alterTable('user').addColumn('sign_in_link_requested_at', timestamp).execute();
  }

  override async down(): Promise<void> {
    const db = this.getEntityManager().getKysely();
    await db.schema.alterTable('user').dropColumn('sign_in_link_requested_at').execute();
  }
}
