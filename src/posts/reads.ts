// Every read of posts goes through here, and so through `visible`: the one place that decides what
// the public sees (feed, post, author page, API, Atom feeds, sitemap, search). Scheduling is a
// filter at query time (`published_at <= now`), not a job that flips a status, so it cannot miss.
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { Orm } from '../db/orm.ts';
import { toDatabaseDate } from '../db/dates.ts';
import { RENDER_VERSION, excerptOf, renderMarkdown } from './markdown.ts';

export const EXCERPT_MAX = 280;

export type Status = 'draft' | 'published';
export type Author = { id: number; username: string; pictureHash: string | null };
/** A post as lists show it: no body. */
export type PostSummary = {
  id: number; title: string; slug: string; excerpt: string; author: Author;
  status: Status; publishedAt: Date | null; createdAt: Date; updatedAt: Date;
  /** What the public sees at the time it was read: a draft, a post scheduled for later, or a public post. */
  state: 'draft' | 'scheduled' | 'public';
};

// The columns as the database returns them: datetimes are epoch ms on SQLite (as MikroORM writes
// them, STACK-NOTES §1) and Date objects on Postgres; `new Date` takes either.
type When = Date | number | string;
export type Tables = {
  post: {
    id: number; author_id: number; title: string; slug: string; body: string; excerpt: string; html: string;
    rendered_with: number; status: string; published_at: When | null; created_at: When; updated_at: When;
  };
  user: { id: number; username: string; picture_hash: string | null };
  /** SQLite's FTS5 index of posts (migrations/…_post_search.ts); queried only by search.ts. */
  post_search: { rowid: number; post_search: string };
};
export type Reads = ReturnType<typeof createReads>;
type SummaryRow = {
  id: number; title: string; slug: string; excerpt: string; status: string; published_at: When | null;
  created_at: When; updated_at: When; author_id: number; username: string; picture_hash: string | null;
};

/** Whether the public may see a post at `now`: published, and its time has come. */
export function visible(orm: Orm, now: Date) {
  return visibleUpTo(toDatabaseDate(orm.em, now) as When);
}

/** The same, as of a time already in the database's form. */
function visibleUpTo(at: When) {
  return (eb: ExpressionBuilder<{ p: Tables['post'] }, 'p'>) =>
    eb.and([eb('p.status', '=', 'published'), eb('p.published_at', '<=', at)]);
}

export function createReads(orm: Orm, now: () => Date) {
  // Reads are plain rows through Kysely: building MikroORM entities cost several times the query
  // itself for a page of posts (measured: ~4 ms against ~0.5 ms of CPU on a busy machine).
  const db = (): Kysely<Tables> => orm.em.fork().getKysely<Tables>();
  const summaries = () =>
    db()
      .selectFrom('post as p')
      .innerJoin('user as u', 'u.id', 'p.author_id')
      .select(['p.id', 'p.title', 'p.slug', 'p.excerpt', 'p.status', 'p.published_at', 'p.created_at', 'p.updated_at', 'p.author_id', 'u.username', 'u.picture_hash']);
  /**
   * Public posts only, as of now, or as of `upTo` (a page's cursor, never later than now). One bound
   * on published_at, not two: SQLite starts its index scan at the first bound it is given, so
   * `<= now` and `<= cursor` together read every newer post before the page (20 ms a page, 1M posts deep).
   */
  const published = (upTo?: When) => summaries().where(upTo === undefined ? visible(orm, now()) : visibleUpTo(upTo));

  /**
   * The stored HTML, rendered again (and stored) if an older renderer made it. Readers normally never
   * render; after a renderer change each post is rendered once, here or by `renderStale`.
   */
  async function htmlOf(row: { id: number; body: string; html: string; rendered_with: number }): Promise<string> {
    if (row.rendered_with === RENDER_VERSION) return row.html;
    const rendered = renderedBody(row.body);
    await db().updateTable('post').set(rendered).where('id', '=', row.id).where('rendered_with', '=', row.rendered_with).execute();
    return rendered.html;
  }

  /** Renders up to `limit` posts that an older renderer made; the count it rendered (0 when none are left). */
  async function renderStale(limit = 200): Promise<number> {
    const rows = await db().selectFrom('post').select(['id', 'body', 'html', 'rendered_with']).where('rendered_with', '<>', RENDER_VERSION).limit(limit).execute();
    for (const row of rows) await htmlOf(row);
    return rows.length;
  }

  const dbDate = (date: Date) => toDatabaseDate(orm.em, date) as When;

  return { db, dbDate, summaries, published, htmlOf, renderStale };
}

/** What a write stores besides the Markdown: the rendering and the excerpt, with the renderer's version. */
export function renderedBody(body: string) {
  return { html: renderMarkdown(body), excerpt: excerptOf(body, EXCERPT_MAX), rendered_with: RENDER_VERSION };
}

export function summaryOf(row: SummaryRow, at: Date): PostSummary {
  const publishedAt = row.published_at === null ? null : new Date(row.published_at);
  const state = row.status === 'draft' || publishedAt === null ? 'draft' : publishedAt > at ? 'scheduled' : 'public';
  return {
    state,
    id: row.id, title: row.title, slug: row.slug, excerpt: row.excerpt, author: { id: row.author_id, username: row.username, pictureHash: row.picture_hash },
    status: row.status === 'draft' ? 'draft' : 'published', publishedAt,
    createdAt: new Date(row.created_at), updatedAt: new Date(row.updated_at),
  };
}
