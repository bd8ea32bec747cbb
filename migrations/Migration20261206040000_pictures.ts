// Profile pictures (issue 26): the re-encoded bytes in their own table, named by their hash, and the
// user's pointer to one. No foreign key: a picture may be shared by several users (same bytes, same
// hash) and outlives a pointer until housekeeping sweeps it.
import { InkwellMigration } from './support/migration.ts';

export class Migration20261206040000_pictures extends InkwellMigration {
  override name = 'Migration20261206040000_pictures';

  override async up(): Promise<void> {
    const { db, pg, varchar, timestamp } = this.schema();

    await db.schema
      .createTable('picture')
      .addColumn('hash', varchar(64), (c) => c.notNull().primaryKey())
      .addColumn('bytes', pg ? 'bytea' : 'blob', (c) => c.notNull())
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('picture_created_at_index').on('picture').column('created_at').execute();
    await db.schema.alterTable('user').addColumn('picture_hash', varchar(64)).execute();
    await db.schema.createIndex('user_picture_hash_index').on('user').column('picture_hash').execute();
  }

  override async down(): Promise<void> {
    const db = this.getEntityManager().getKysely();
    await db.schema.dropIndex('user_picture_hash_index').execute();
    await db.schema.alterTable('user').dropColumn('picture_hash').execute();
    await db.schema.dropTable('picture').execute();
  }
}
