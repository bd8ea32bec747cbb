// The blog's public API. No HTTP here: callers pass plain values and get outcomes back.
// Who may change a post is decided here, in the same statement that changes it; what the public
// may see is decided in one place, reads.ts's `visible`.
import type { Orm } from '../db/orm.ts';
import { Post } from '../db/entities.ts';
import { readingMinutes, renderMarkdown } from './markdown.ts';
import { createReads, renderedBody, summaryOf, visible, type Author, type PostSummary, type Status } from './reads.ts';
import { slugOf, slugProblem } from './slugs.ts';
import { createSearch } from './search.ts';

export type { Search, SearchResult } from './search.ts';
export { QUERY_MAX } from './search.ts';

export type { Author, PostSummary, Status } from './reads.ts';

// A page of a list: small enough to render fast, large enough to read.
export const PAGE_SIZE = 10;
export const TITLE_MAX = 200;
// About 25 printed pages; also bounds what one preview or save costs to render.
export const BODY_MAX = 100_000;
// An author's unpublished posts shown at once on their page (drafts are few; this only bounds a page).
const DRAFTS_SHOWN = 50;
// Atom feeds: the newest entries, full content (readers show the post; summaries make them click).
export const FEED_ENTRIES = 20;
// One sitemap file holds at most 50,000 addresses (sitemaps.org); the newest posts come first.
const SITEMAP_MAX = 50_000;

export type FieldErrors = Record<string, string>;
/** A post as written (what the editor shows), and rendered (what readers see). */
export type WrittenPost = PostSummary & { body: string };
export type FullPost = WrittenPost & { html: string; readingMinutes: number };
export type Page = { posts: PostSummary[]; nextBefore: number | null };
/**
 * `status` draft or published (publish/edit default: published / unchanged); `publishAt` the time
 * it becomes public (later than now = scheduled; unset = now, or unchanged for a published post);
 * `slug` empty or unset = made from the title (on edit: kept unless given).
 */
export type PostInput = { title: string; body: string; status?: Status; publishAt?: Date; slug?: string };

export type Publication = { ok: true; post: FullPost } | { ok: false; reason: 'invalid'; fields: FieldErrors };
export type Edit =
  | { ok: true; post: FullPost }
  | { ok: false; reason: 'not_found' | 'not_author' }
  | { ok: false; reason: 'invalid'; fields: FieldErrors };
export type Deletion = { ok: true } | { ok: false; reason: 'not_found' | 'not_author' };
export type Editable = { ok: true; post: WrittenPost } | { ok: false; reason: 'not_found' | 'not_author' };
export type AuthorPage = ({ ok: true; author: Author } & Page) | { ok: false; reason: 'not_found' };
export type FeedEntry = PostSummary & { html: string };
export type SitemapEntries = { posts: PostSummary[]; authors: { username: string; updatedAt: Date }[] };

export type PostsOptions = {
  orm: Orm;
  now?: () => Date;
  /** Called after every change to any post (publish, edit, delete), e.g. to drop cached pages. */
  onChange?: () => void;
};

export type Posts = ReturnType<typeof createPosts>;

/** Title, body and slug rules, one message per field; the web layer has already made the strings. */
export function postProblems(input: Partial<PostInput>): FieldErrors {
  const fields: FieldErrors = {};
  if (input.title !== undefined) {
    const title = input.title.trim();
    if (title.length === 0) fields.title = 'Give the post a title.';
    else if (title.length > TITLE_MAX) fields.title = `Keep the title to ${TITLE_MAX} characters or fewer.`;
  }
  if (input.body !== undefined) {
    if (input.body.trim().length === 0) fields.body = 'Write something in the post.';
    else if (input.body.length > BODY_MAX) fields.body = `Keep the post to ${BODY_MAX.toLocaleString('en')} characters or fewer.`;
  }
  if (input.slug) {
    const problem = slugProblem(input.slug);
    if (problem) fields.slug = problem;
  }
  if (input.publishAt !== undefined && Number.isNaN(input.publishAt.getTime())) fields.published_at = 'Give a date and time.';
  return fields;
}

export function createPosts({ orm, now = () => new Date(), onChange = () => {} }: PostsOptions) {
  const em = () => orm.em.fork();
  const reads = createReads(orm, now);
  const { searchPosts } = createSearch(orm, now, reads);

  /** The newest public posts, or those older than the post `before` (keyset: no OFFSET, so depth costs nothing). */
  async function listPosts(before?: number): Promise<Page> {
    return pageOf(undefined, before);
  }

  async function listPostsBy(username: string, before?: number): Promise<AuthorPage> {
    const user = await reads.db().selectFrom('user').select(['id', 'username', 'picture_hash']).where('username', '=', username).executeTakeFirst();
    if (!user) return { ok: false, reason: 'not_found' };
    const author = { id: user.id, username: user.username, pictureHash: user.picture_hash };
    return { ok: true, author, ...(await pageOf(user.id, before)) };
  }

  /** The author's posts the public cannot see yet: drafts and scheduled ones, last changed first. */
  async function listUnpublished(authorId: number): Promise<PostSummary[]> {
    const rows = await reads
      .summaries()
      .where('p.author_id', '=', authorId)
      .where((eb) => eb.not(visible(orm, now())(eb)))
      .orderBy('p.updated_at', 'desc')
      .limit(DRAFTS_SHOWN)
      .execute();
    return rows.map((row) => summaryOf(row, now()));
  }

  /** The post, if the public may see it or `viewerId` wrote it. */
  async function findPost(id: number, viewerId?: number): Promise<FullPost | null> {
    const row = await reads.summaries().select(['p.body', 'p.html', 'p.rendered_with']).where('p.id', '=', id)
      .where((eb) => (viewerId === undefined ? visible(orm, now())(eb) : eb.or([visible(orm, now())(eb), eb('p.author_id', '=', viewerId)])))
      .executeTakeFirst();
    if (!row) return null;
    return { ...summaryOf(row, now()), body: row.body, html: await reads.htmlOf(row), readingMinutes: readingMinutes(row.body) };
  }

  /** The newest public posts with their HTML, of everyone or of one author (for Atom feeds). */
  async function latestWithContent(username?: string): Promise<FeedEntry[] | null> {
    let query = reads.published().select(['p.body', 'p.html', 'p.rendered_with']);
    if (username !== undefined) {
      const user = await reads.db().selectFrom('user').select('id').where('username', '=', username).executeTakeFirst();
      if (!user) return null;
      query = query.where('p.author_id', '=', user.id);
    }
    const rows = await query.orderBy('p.published_at', 'desc').orderBy('p.id', 'desc').limit(FEED_ENTRIES).execute();
    const entries: FeedEntry[] = [];
    for (const row of rows) entries.push({ ...summaryOf(row, now()), html: await reads.htmlOf(row) });
    return entries;
  }

  /** Public posts (newest first, at most a sitemap's worth) and the authors who have any. */
  async function sitemapEntries(): Promise<SitemapEntries> {
    const rows = await reads.published().orderBy('p.published_at', 'desc').orderBy('p.id', 'desc').limit(SITEMAP_MAX).execute();
    const posts = rows.map((row) => summaryOf(row, now()));
    const authors = new Map<string, Date>();
    for (const post of posts) {
      const seen = authors.get(post.author.username);
      if (!seen || seen < post.updatedAt) authors.set(post.author.username, post.updatedAt);
    }
    return { posts, authors: [...authors].map(([username, updatedAt]) => ({ username, updatedAt })) };
  }

  /** When the next scheduled post becomes public, if any: pages listing posts are stale from then on. */
  async function nextPublication(): Promise<Date | null> {
    const row = await reads.db().selectFrom('post as p').select((eb) => eb.fn.min('p.published_at').as('at'))
      .where('p.status', '=', 'published').where('p.published_at', '>', reads.dbDate(now())).executeTakeFirst();
    return row?.at == null ? null : new Date(row.at as Date);
  }

  /** Renders Markdown exactly as a published post would be, without storing anything. */
  function previewBody(body: string): { ok: true; html: string } | { ok: false; reason: 'invalid'; fields: FieldErrors } {
    const fields = postProblems({ body });
    if (Object.keys(fields).length > 0) return { ok: false, reason: 'invalid', fields };
    return { ok: true, html: renderMarkdown(body) };
  }

  async function publishPost(authorId: number, input: PostInput): Promise<Publication> {
    const fields = postProblems(input);
    if (Object.keys(fields).length > 0) return { ok: false, reason: 'invalid', fields };
    const at = now();
    const status = input.status ?? 'published';
    const { html, excerpt, rendered_with } = renderedBody(input.body);
    const id = await em().insert(Post, {
      author: authorId, title: input.title.trim(), body: input.body, excerpt, html, renderedWith: rendered_with,
      status, publishedAt: status === 'draft' ? null : (input.publishAt ?? at),
      slug: input.slug || (await slugOf(input.title.trim())), createdAt: at, updatedAt: at,
    });
    onChange();
    return { ok: true, post: (await findPost(Number(id), authorId))! };
  }

  /** The post as written, if `userId` may edit it. */
  async function findPostToEdit(userId: number, postId: number): Promise<Editable> {
    const row = await reads.summaries().select('p.body').where('p.id', '=', postId).executeTakeFirst();
    if (!row) return { ok: false, reason: 'not_found' };
    if (row.author_id !== userId) return { ok: false, reason: 'not_author' };
    return { ok: true, post: { ...summaryOf(row, now()), body: row.body } };
  }

  /** Changes the fields given. Only the author can; the check is part of the update itself. */
  async function editPost(userId: number, postId: number, input: Partial<PostInput>): Promise<Edit> {
    const fields = postProblems(input);
    if (Object.keys(fields).length > 0) return { ok: false, reason: 'invalid', fields };
    const current = await findPostToEdit(userId, postId);
    if (!current.ok) return current;
    const changes: Partial<Pick<Post, 'title' | 'body' | 'excerpt' | 'html' | 'renderedWith' | 'status' | 'publishedAt' | 'slug' | 'updatedAt'>> = {
      updatedAt: now(),
    };
    if (input.title !== undefined) changes.title = input.title.trim();
    if (input.body !== undefined) {
      const { html, excerpt, rendered_with } = renderedBody(input.body);
      Object.assign(changes, { body: input.body, html, excerpt, renderedWith: rendered_with });
    }
    // An explicit empty slug asks for a new one from the (new) title; no slug keeps the old one.
    if (input.slug !== undefined) changes.slug = input.slug || (await slugOf(changes.title ?? current.post.title));
    if (input.status === 'draft') Object.assign(changes, { status: 'draft', publishedAt: null });
    else if (input.status === 'published') {
      // Publishing again (an edit of a public post) keeps its date; a draft or a scheduled post is published now.
      const keep = current.post.state === 'public' ? current.post.publishedAt : null;
      Object.assign(changes, { status: 'published', publishedAt: input.publishAt ?? keep ?? now() });
    }
    const changed = await em().nativeUpdate(Post, { id: postId, author: userId }, changes);
    if (changed === 0) return { ok: false, reason: await whyNot(postId) };
    onChange();
    return { ok: true, post: (await findPost(postId, userId))! };
  }

  async function deletePost(userId: number, postId: number): Promise<Deletion> {
    const deleted = await em().nativeDelete(Post, { id: postId, author: userId });
    if (deleted === 0) return { ok: false, reason: await whyNot(postId) };
    onChange();
    return { ok: true };
  }

  /** After a guarded write changed nothing: the post is gone, or it is someone else's. */
  async function whyNot(postId: number): Promise<'not_found' | 'not_author'> {
    return (await em().count(Post, { id: postId })) === 0 ? 'not_found' : 'not_author';
  }

  async function pageOf(author: number | undefined, before?: number): Promise<Page> {
    // Only a public post is a cursor: a draft's id must not reveal where it would sit. A cursor that
    // no longer exists (its post was deleted) starts again from the newest.
    const cursor = before === undefined ? undefined : await reads.published().where('p.id', '=', before).executeTakeFirst();
    let query = reads.published(cursor?.published_at ?? undefined).orderBy('p.published_at', 'desc').orderBy('p.id', 'desc').limit(PAGE_SIZE + 1);
    if (author !== undefined) query = query.where('p.author_id', '=', author);
    // `published_at <= at` (above) bounds the index scan; the `or` then orders posts of the same instant by id.
    if (cursor) query = query.where((eb) => eb.or([eb('p.published_at', '<', cursor.published_at!), eb('p.id', '<', cursor.id)]));
    const rows = await query.execute();
    const posts = rows.slice(0, PAGE_SIZE).map((row) => summaryOf(row, now()));
    // One more row than a page was asked for: whether it came back says whether an older page exists.
    return { posts, nextBefore: rows.length > PAGE_SIZE ? posts.at(-1)!.id : null };
  }

  return {
    listPosts, listPostsBy, listUnpublished, findPost, latestWithContent, sitemapEntries, nextPublication,
    searchPosts, previewBody, publishPost, findPostToEdit, editPost, deletePost, renderStale: reads.renderStale,
  };
}
