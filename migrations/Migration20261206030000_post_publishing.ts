// Drafts, schedules, slugs and stored HTML for posts (issues 25 and 30.3). Existing posts stay
// public (published at their creation), get a slug from their title, and are rendered on their
// first read or by the start-up sweep (`rendered_with` 0 is older than every renderer version).
import slugify from '@sindresorhus/slugify';
import { InkwellMigration } from './support/migration.ts';

const BATCH = 1_000;

export class Migration20261206030000_post_publishing extends InkwellMigration {
  override name = 'Migration20261206030000_post_publishing';

  override async up(): Promise<void> {
    const { db, varchar, timestamp } = this.schema();
    await db.schema.alterTable('post').addColumn('html', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.schema.alterTable('post').addColumn('rendered_with', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('post').addColumn('status', varchar(16), (c) => c.notNull().defaultTo('published')).execute();
    await db.schema.alterTable('post').addColumn('published_at', timestamp).execute();
    await db.schema.alterTable('post').addColumn('slug', varchar(100), (c) => c.notNull().defaultTo('post')).execute();
    type Columns = { id: number; title: string; slug: string; published_at: unknown; created_at: unknown };
    const rowsOf = this.getEntityManager().getKysely<{ post: Columns }>();
    await rowsOf.updateTable('post').set((eb) => ({ published_at: eb.ref('created_at') })).execute();
    for (let after = 0; ; ) {
      const rows = await rowsOf.selectFrom('post').select(['id', 'title']).where('id', '>', after).orderBy('id').limit(BATCH).execute();
      if (rows.length === 0) break;
      for (const row of rows) {
        const slug = slugify(String(row.title)).slice(0, 80).replace(/-+$/, '') || 'post';
        await rowsOf.updateTable('post').set({ slug }).where('id', '=', row.id).execute();
      }
      after = Number(rows.at(-1)!.id);
    }
    await db.schema.dropIndex('post_created_at_id_index').execute();
    await db.schema.dropIndex('post_author_id_created_at_id_index').execute();
    await db.schema.createIndex('post_published_at_id_index').on('post').columns(['published_at', 'id']).execute();
    await db.schema
      .createIndex('post_author_id_published_at_id_index')
      .on('post')
      .columns(['author_id', 'published_at', 'id'])
      .execute();
  }

  override async down(): Promise<void> {
    const db = this.getEntityManager().getKysely();
    await db.schema.dropIndex('post_published_at_id_index').execute();
    await db.schema.dropIndex('post_author_id_published_at_id_index').execute();
    await db.schema.createIndex('post_created_at_id_index').on('post').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('post_author_id_created_at_id_index').on('post').columns(['author_id', 'created_at', 'id']).execute();
    for (const column of ['html', 'rendered_with', 'status', 'published_at', 'slug']) {
      await db.schema.alterTable('post').dropColumn(column).execute();
    }
  }
}
