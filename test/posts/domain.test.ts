// The posts domain through its public API: outcomes, the author check, keyset pages, cascade delete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Post, User } from '../../src/db/entities.ts';
import { PAGE_SIZE, createPosts, type Posts } from '../../src/posts/index.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';

describe.each(dialects())('posts domain on %s', (dialect) => {
  let h: Harness;
  let clock: Date;
  let posts: Posts;
  let changes = 0;
  let n = 0;
  const user = async () => (await registeredUser(h, `writer${++n}`)).id;
  beforeAll(async () => {
    h = await startHarness(dialect);
    clock = new Date('2030-01-01T00:00:00Z');
    posts = createPosts({ orm: h.orm, now: () => clock, onChange: () => changes++ });
  });
  afterAll(() => h.close());

  describe('publishPost', () => {
    it('stores a trimmed title, the body as written and a plain-text excerpt', async () => {
      const outcome = await posts.publishPost(await user(), { title: '  Hello  ', body: '# Hi\n\nSome **bold** [text](https://example.com).' });
      expect(outcome.ok).toBe(true);
      if (!outcome.ok) return;
      expect(outcome.post.title).toBe('Hello');
      expect(outcome.post.body).toBe('# Hi\n\nSome **bold** [text](https://example.com).');
      expect(outcome.post.excerpt).toBe('Hi. Some bold text.'); // the heading ends its sentence
      expect(outcome.post.html).toContain('<h2>Hi</h2>');
    });

    it('cuts a long excerpt at a word, with an ellipsis', async () => {
      const outcome = await posts.publishPost(await user(), { title: 'Long', body: 'word '.repeat(200) });
      expect(outcome.ok && outcome.post.excerpt.length).toBeLessThanOrEqual(280);
      expect(outcome.ok && outcome.post.excerpt.endsWith('word…')).toBe(true);
    });

    it('refuses an empty or over-long title and an empty or over-long body, storing nothing', async () => {
      const author = await user();
      const before = await h.orm.em.fork().count(Post, {});
      for (const [input, field] of [
        [{ title: '   ', body: 'x' }, 'title'],
        [{ title: 'x'.repeat(201), body: 'x' }, 'title'],
        [{ title: 'x', body: ' \n ' }, 'body'],
        [{ title: 'x', body: 'x'.repeat(100_001) }, 'body'],
      ] as const) {
        const outcome = await posts.publishPost(author, input);
        expect(outcome.ok).toBe(false);
        expect(!outcome.ok && Object.keys(outcome.fields)).toEqual([field]);
      }
      expect(await h.orm.em.fork().count(Post, {})).toBe(before);
      expect((await posts.publishPost(author, { title: 'x'.repeat(200), body: 'x'.repeat(100_000) })).ok).toBe(true);
    });
  });

  describe('editPost and deletePost', () => {
    it('only the author can edit: others get not_author and the post is unchanged', async () => {
      const [author, other] = [await user(), await user()];
      const published = await posts.publishPost(author, { title: 'Mine', body: 'original' });
      const id = published.ok ? published.post.id : 0;
      const count = changes;
      expect(await posts.editPost(other, id, { title: 'Stolen' })).toEqual({ ok: false, reason: 'not_author' });
      expect(await posts.deletePost(other, id)).toEqual({ ok: false, reason: 'not_author' });
      expect(await posts.findPostToEdit(other, id)).toEqual({ ok: false, reason: 'not_author' });
      expect((await posts.findPost(id))!.title).toBe('Mine');
      expect(changes).toBe(count);

      clock = new Date(clock.getTime() + 60_000);
      const edited = await posts.editPost(author, id, { body: 'changed' });
      expect(edited.ok && [edited.post.title, edited.post.body, edited.post.excerpt]).toEqual(['Mine', 'changed', 'changed']);
      expect(edited.ok && edited.post.updatedAt.getTime() - edited.post.createdAt.getTime()).toBe(60_000);
      expect(changes).toBe(count + 1);
      expect(await posts.deletePost(author, id)).toEqual({ ok: true });
      expect(await posts.findPost(id)).toBeNull();
      expect(changes).toBe(count + 2);
    });

    it('a missing post is not_found, for the author too', async () => {
      const author = await user();
      expect(await posts.editPost(author, 999_999, { title: 'x' })).toEqual({ ok: false, reason: 'not_found' });
      expect(await posts.deletePost(author, 999_999)).toEqual({ ok: false, reason: 'not_found' });
    });

    it('an invalid edit is refused before anything changes', async () => {
      const author = await user();
      const published = await posts.publishPost(author, { title: 'Keep', body: 'body' });
      const id = published.ok ? published.post.id : 0;
      const outcome = await posts.editPost(author, id, { title: '' });
      expect(!outcome.ok && outcome.reason).toBe('invalid');
      expect((await posts.findPost(id))!.title).toBe('Keep');
    });
  });

  describe('listPosts (keyset pages)', () => {
    it('pages through posts with equal timestamps in a stable order, each exactly once', async () => {
      // A database of its own kind: only these posts, all published in the same millisecond.
      await h.orm.em.fork().nativeDelete(Post, {});
      const author = await user();
      const same = new Date('2031-05-05T05:05:05.555Z');
      clock = same;
      const ids: number[] = [];
      for (let i = 0; i < 25; i++) {
        const outcome = await posts.publishPost(author, { title: `Post ${i}`, body: 'same time' });
        if (outcome.ok) ids.push(outcome.post.id);
      }
      const seen: number[] = [];
      let before: number | undefined;
      let pages = 0;
      do {
        const page = await posts.listPosts(before);
        expect(page.posts.length).toBeLessThanOrEqual(PAGE_SIZE);
        seen.push(...page.posts.map((p) => p.id));
        before = page.nextBefore ?? undefined;
        pages++;
      } while (before !== undefined);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].sort((a, b) => b - a));
    });

    it('orders by publication time first: a backdated post comes after newer ones whatever its id', async () => {
      const author = await user();
      clock = new Date('2040-01-01T00:00:00Z');
      const newer = await posts.publishPost(author, { title: 'newer', body: 'x' });
      clock = new Date('2020-01-01T00:00:00Z');
      const older = await posts.publishPost(author, { title: 'older', body: 'x' });
      clock = new Date('2040-01-02T00:00:00Z'); // both are public by then
      const first = await posts.listPosts();
      expect(first.posts[0].id).toBe(newer.ok && newer.post.id);
      expect(first.posts.map((p) => p.id)).not.toContain(older.ok && older.post.id);
      const byAuthor = await posts.listPostsBy(`writer${n}`);
      expect(byAuthor.ok && byAuthor.posts.map((p) => p.title)).toEqual(['newer', 'older']);
    });

    it('a cursor whose post is gone starts again from the newest', async () => {
      const first = await posts.listPosts();
      expect((await posts.listPosts(2_000_000_000)).posts).toEqual(first.posts);
    });

    it("an unknown author's page is not_found", async () => {
      expect(await posts.listPostsBy('nobody-here')).toEqual({ ok: false, reason: 'not_found' });
    });
  });

  it("deleting an account deletes the author's posts, in the database", async () => {
    const author = await user();
    for (let i = 0; i < 3; i++) await posts.publishPost(author, { title: `gone ${i}`, body: 'x' });
    expect(await h.orm.em.fork().count(Post, { author })).toBe(3);
    await h.orm.em.fork().nativeDelete(User, { id: author });
    expect(await h.orm.em.fork().count(Post, { author })).toBe(0);
  });
});
