// The blog's posts (issue "blog"). Column types as in the initial migration; the two indexes serve
// the feed and an author's page, both newest first with the id breaking ties (keyset pagination).
import { InkwellMigration } from './support/migration.ts';

export class Migration20261127020000_posts extends InkwellMigration {
  override name = 'Migration20261127020000_posts';

  override async up(): Promise<void> {
    const { db, pg, varchar, timestamp, serial, serialKey } = this.schema();

    await db.schema
      .createTable('post')
      .addColumn('id', serial, serialKey)
      .addColumn('author_id', 'integer', (c) => c.notNull())
      .addColumn('title', varchar(200), (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('excerpt', varchar(300), (c) => c.notNull())
      .addColumn('created_at', timestamp, (c) => c.notNull())
      .addColumn('updated_at', timestamp, (c) => c.notNull())
      .addForeignKeyConstraint('post_author_id_foreign', ['author_id'], 'user', ['id'], (c) => c.onDelete('cascade'))
      .execute();
    await db.schema.createIndex('post_created_at_id_index').on('post').columns(['created_at', 'id']).execute();
    await db.schema
      .createIndex('post_author_id_created_at_id_index')
      .on('post')
      .columns(['author_id', 'created_at', 'id'])
      .execute();
    // MikroORM indexes every foreign key on SQLite (not on Postgres) and counts a missing one as drift;
    // the composite index above already serves it, so this one exists only to match.
    if (!pg) await db.schema.createIndex('post_author_id_index').on('post').column('author_id').execute();
  }

  override async down(): Promise<void> {
    await this.getEntityManager().getKysely().schema.dropTable('post').execute();
  }
}
