// The blog's posts (issue "blog"). Column types as in the initial migration; the two indexes serve
// the feed and an author's page, both newest first with the id breaking ties (keyset pagination).
import { Migration } from '@mikro-orm/migrations';
import { PostgreSqlPlatform } from '@mikro-orm/postgresql';

export class Migration20261127020000_posts extends Migration {
  override name = 'Migration20261127020000_posts';

  override async up(): Promise<void> {
    const db = this.getEntityManager().getKysely();
    const pg = this.driver.getPlatform() instanceof PostgreSqlPlatform;
    const varchar = (n: number) => (pg ? `varchar(${n})` : 'text') as 'text';
    const timestamp = (pg ? 'timestamptz' : 'datetime') as 'timestamptz';
    const serial = pg ? 'serial' : 'integer';

    await db.schema
      .createTable('post')
      .addColumn('id', serial, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()).notNull())
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
