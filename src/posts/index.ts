// The blog's public API. No HTTP here: callers pass plain values and get outcomes back.
// Who may change a post is decided here, in the same statement that changes it.
import type { Orm } from '../db/orm.ts';
import { Post } from '../db/entities.ts';
import { excerptOf, renderMarkdown } from './markdown.ts';

// A page of a list: small enough to render fast, large enough to read.
export const PAGE_SIZE = 10;
export const TITLE_MAX = 200;
// About 25 printed pages; also bounds what one preview or save costs to render.
export const BODY_MAX = 100_000;
const EXCERPT_MAX = 280;

export type FieldErrors = Record<string, string>;
export type Author = { id: number; username: string; pictureHash: string | null };
/** A post as lists show it: no body. */
export type PostSummary = { id: number; title: string; excerpt: string; author: Author; createdAt: Date; updatedAt: Date };
/** A post as its page shows it: the Markdown and its rendering. */
/** A post as written (what the editor shows), and rendered (what readers see). */
export type WrittenPost = PostSummary & { body: string };
export type FullPost = WrittenPost & { html: string };
export type Page = { posts: PostSummary[]; nextBefore: number | null };
export type PostInput = { title: string; body: string };

export type Publication = { ok: true; post: FullPost } | { ok: false; reason: 'invalid'; fields: FieldErrors };
export type Edit =
  | { ok: true; post: FullPost }
  | { ok: false; reason: 'not_found' | 'not_author' }
  | { ok: false; reason: 'invalid'; fields: FieldErrors };
export type Deletion = { ok: true } | { ok: false; reason: 'not_found' | 'not_author' };
export type Editable = { ok: true; post: WrittenPost } | { ok: false; reason: 'not_found' | 'not_author' };
export type AuthorPage = ({ ok: true; author: Author } & Page) | { ok: false; reason: 'not_found' };

export type PostsOptions = {
  orm: Orm;
  now?: () => Date;
  /** Called after every change to any post (publish, edit, delete), e.g. to drop cached pages. */
  onChange?: () => void;
};

export type Posts = ReturnType<typeof createPosts>;

/** Title and body rules, one message per field; the web layer has already made both strings. */
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
  return fields;
}

export function createPosts({ orm, now = () => new Date(), onChange = () => {} }: PostsOptions) {
  const em = () => orm.em.fork();
  // Reads are plain rows through Kysely: building MikroORM entities cost several times the query
  // itself for a page of posts (measured: ~4 ms against ~0.5 ms of CPU on a busy machine).
  const read = () => orm.em.fork().getKysely<Tables>();
  const withAuthor = () =>
    read()
      .selectFrom('post as p')
      .innerJoin('user as u', 'u.id', 'p.author_id')
      .select(['p.id', 'p.title', 'p.excerpt', 'p.created_at', 'p.updated_at', 'p.author_id', 'u.username', 'u.picture_hash']);

  /** The newest posts, or those older than the post `before` (keyset: no OFFSET, so depth costs nothing). */
  async function listPosts(before?: number): Promise<Page> {
    return pageOf(undefined, before);
  }

  async function listPostsBy(username: string, before?: number): Promise<AuthorPage> {
    const user = await read().selectFrom('user').select(['id', 'username', 'picture_hash']).where('username', '=', username).executeTakeFirst();
    if (!user) return { ok: false, reason: 'not_found' };
    const author = { id: user.id, username: user.username, pictureHash: user.picture_hash };
    return { ok: true, author, ...(await pageOf(user.id, before)) };
  }

  async function findPost(id: number): Promise<FullPost | null> {
    const post = await findUnrendered(id);
    return post && { ...post, html: renderMarkdown(post.body) };
  }

  async function findUnrendered(id: number): Promise<WrittenPost | null> {
    const row = await withAuthor().select('p.body').where('p.id', '=', id).executeTakeFirst();
    return row ? { ...summaryOf(row), body: row.body } : null;
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
    const id = await em().insert(Post, {
      author: authorId, title: input.title.trim(), body: input.body, excerpt: excerptOf(input.body, EXCERPT_MAX),
      createdAt: at, updatedAt: at,
    });
    onChange();
    return { ok: true, post: (await findPost(Number(id)))! };
  }

  /** The post, if `userId` may edit it. */
  async function findPostToEdit(userId: number, postId: number): Promise<Editable> {
    // The editor shows the Markdown as written: nothing to render.
    const post = await findUnrendered(postId);
    if (!post) return { ok: false, reason: 'not_found' };
    if (post.author.id !== userId) return { ok: false, reason: 'not_author' };
    return { ok: true, post };
  }

  /** Changes the fields given. Only the author can; the check is part of the update itself. */
  async function editPost(userId: number, postId: number, input: Partial<PostInput>): Promise<Edit> {
    const fields = postProblems(input);
    if (Object.keys(fields).length > 0) return { ok: false, reason: 'invalid', fields };
    const changes: Partial<Pick<Post, 'title' | 'body' | 'excerpt' | 'updatedAt'>> = { updatedAt: now() };
    if (input.title !== undefined) changes.title = input.title.trim();
    if (input.body !== undefined) Object.assign(changes, { body: input.body, excerpt: excerptOf(input.body, EXCERPT_MAX) });
    const changed = await em().nativeUpdate(Post, { id: postId, author: userId }, changes);
    if (changed === 0) return { ok: false, reason: await whyNot(postId) };
    onChange();
    return { ok: true, post: (await findPost(postId))! };
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
    let query = withAuthor().orderBy('p.created_at', 'desc').orderBy('p.id', 'desc').limit(PAGE_SIZE + 1);
    if (author !== undefined) query = query.where('p.author_id', '=', author);
    if (before !== undefined) {
      const cursor = await read().selectFrom('post').select(['id', 'created_at']).where('id', '=', before).executeTakeFirst();
      // A cursor that no longer exists (its post was deleted) starts again from the newest.
      if (cursor) {
        // `created_at <=` bounds the index scan; the `or` then orders posts of the same instant by id.
        query = query
          .where('p.created_at', '<=', cursor.created_at)
          .where((eb) => eb.or([eb('p.created_at', '<', cursor.created_at), eb('p.id', '<', cursor.id)]));
      }
    }
    const rows = await query.execute();
    const posts = rows.slice(0, PAGE_SIZE).map(summaryOf);
    // One more row than a page was asked for: whether it came back says whether an older page exists.
    return { posts, nextBefore: rows.length > PAGE_SIZE ? posts.at(-1)!.id : null };
  }

  return { listPosts, listPostsBy, findPost, previewBody, publishPost, findPostToEdit, editPost, deletePost };
}

// The columns as the database returns them: datetimes are epoch ms on SQLite (as MikroORM writes
// them, STACK-NOTES §1) and Date objects on Postgres; `new Date` takes either.
type When = Date | number | string;
type Tables = {
  post: { id: number; author_id: number; title: string; body: string; excerpt: string; created_at: When; updated_at: When };
  user: { id: number; username: string; picture_hash: string | null };
};
type Row = { id: number; title: string; excerpt: string; created_at: When; updated_at: When; author_id: number; username: string; picture_hash: string | null };

function summaryOf(row: Row): PostSummary {
  return {
    id: row.id, title: row.title, excerpt: row.excerpt, author: { id: row.author_id, username: row.username, pictureHash: row.picture_hash },
    createdAt: new Date(row.created_at), updatedAt: new Date(row.updated_at),
  };
}
