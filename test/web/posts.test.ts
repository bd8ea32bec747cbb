// The blog's routes, pages and API: reading for everyone, writing for the author only, keyset
// pages, and the anonymous page cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Post, Session } from '../../src/db/entities.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';

type Writer = Awaited<ReturnType<typeof registeredUser>>;

describe.each(dialects())('posts routes on %s', (dialect) => {
  let h: Harness;
  let alice: Writer;
  let bob: Writer;
  const htmx = { 'HX-Request': 'true' };
  beforeAll(async () => {
    h = await startHarness(dialect);
    alice = await registeredUser(h, 'alice');
    bob = await registeredUser(h, 'bob');
  });
  afterAll(() => h.close());

  const publish = async (who: Writer, title = 'A post', body = 'Some *words*.') => {
    const res = await who.agent.post('/api/posts').send({ title, body });
    expect(res.status).toBe(201);
    return res.body.post as { id: number; title: string; body: string; html: string; url: string; slug: string; author: { username: string } };
  };
  /** The post's one address, /posts/:id-:slug. */
  const at = (post: { id: number; slug: string }) => `/posts/${post.id}-${post.slug}`;
  const stored = (id: number) => h.orm.em.fork().findOne(Post, { id });

  describe('reading', () => {
    it('GET / lists the 10 newest posts with title, author and excerpt, and links to older posts', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 12; i++) ids.push((await publish(alice, `Feed post ${i}`, `Excerpt number ${i}, **plain**.`)).id);
      const first = await h.request().get('/').expect(200);
      expect(first.text).toContain(`<a href="/posts/${ids[11]}-feed-post-11">Feed post 11</a>`);
      expect(first.text).toContain('<a href="/users/alice">alice</a>');
      expect(first.text).toContain('Excerpt number 11, plain.');
      expect(first.text).not.toContain('Feed post 1<');
      expect(first.text.match(/class="post-summary"/g)).toHaveLength(10);
      const older = /href="\/\?before=(\d+)" rel="next">Older posts</.exec(first.text);
      expect(Number(older?.[1])).toBe(ids[2]);
      const second = await h.request().get(`/?before=${ids[2]}`).expect(200);
      expect(second.text).toContain('Feed post 1<');
      expect(second.text).toContain('Feed post 0<');
      expect(second.text).not.toContain('Feed post 2<');
    });

    it('a nonsense `before` shows the first page (never a 500); the API answers 422', async () => {
      const first = (await h.request().get('/').expect(200)).text;
      for (const before of ['abc', '-1', '0', '1.5', '99999999999999999999', "1' or '1'='1", '']) {
        const page = await h.request().get('/').query({ before }).expect(200);
        expect(page.text.match(/class="post-summary"/g)).toHaveLength(10);
        if (before === '') continue;
        const api = await h.request().get('/api/posts').query({ before });
        expect(api.status, before).toBe(422);
        expect(api.body.error.fields.before).toBeDefined();
      }
      await h.request().get('/?before=1&before=2').expect(200);
      expect((await h.request().get('/api/posts?before=1&before=2')).status).toBe(422);
      expect(first).toContain('Latest posts');
    });

    it('GET /api/posts pages with next_before until it is null', async () => {
      const seen = new Set<number>();
      let before: number | null = null;
      let pages = 0;
      do {
        const res: { body: { posts: { id: number; author: { username: string } }[]; next_before: number | null } } = await h
          .request().get('/api/posts').query(before === null ? {} : { before }).expect(200);
        for (const post of res.body.posts) {
          expect(seen.has(post.id)).toBe(false);
          seen.add(post.id);
        }
        before = res.body.next_before;
        pages++;
      } while (before !== null);
      expect(seen.size).toBe(await h.orm.em.fork().count(Post, {}));
      expect(pages).toBe(Math.ceil(seen.size / 10));
    });

    it('GET /posts/:id shows the rendered post; unknown and malformed ids are 404', async () => {
      const post = await publish(alice, 'Rendered', '## Part\n\nA [link](https://example.com).');
      const res = await h.request().get(at(post)).expect(200);
      expect(res.text).toContain('<h1>Rendered</h1>');
      expect(res.text).toContain('<h3>Part</h3>');
      expect(res.text).toContain('<a href="https://example.com" rel="nofollow ugc noopener">link</a>');
      expect(res.text).not.toContain('/edit"');
      for (const path of ['/posts/999999', '/posts/abc', '/posts/0', '/posts/1e3', '/posts/99999999999999']) {
        expect((await h.request().get(path)).status, path).toBe(404);
      }
      expect((await h.request().get('/api/posts/999999')).status).toBe(404);
      expect((await h.request().get('/api/posts/abc')).body.error.code).toBe('not_found');
    });

    it("GET /users/:username lists that author's posts only; an unknown author is 404", async () => {
      await publish(bob, "Bob's post");
      const res = await h.request().get('/users/bob').expect(200);
      expect(res.text).toContain('<h1>Posts by bob</h1>');
      expect(res.text).toContain("Bob&#39;s post");
      expect(res.text).not.toContain('Feed post');
      expect((await h.request().get('/users/nobody')).status).toBe(404);
    });

    it('the author sees edit and delete on their post; others do not', async () => {
      const post = await publish(alice);
      expect((await alice.agent.get(at(post))).text).toContain(`href="/posts/${post.id}/edit"`);
      expect((await bob.agent.get(at(post))).text).not.toContain(`/posts/${post.id}/edit`);
      expect((await bob.agent.get(at(post))).text).not.toContain(`/posts/${post.id}/delete`);
    });
  });

  describe('writing with pages', () => {
    it('POST /posts publishes and redirects to the post; with htmx, HX-Redirect', async () => {
      const plain = await alice.agent.post('/posts').type('form').send({ title: 'From a form', body: 'Hello' });
      expect(plain.status).toBe(303);
      expect(plain.headers.location).toMatch(/^\/posts\/\d+-from-a-form$/);
      expect((await h.request().get(plain.headers.location)).text).toContain('<h1>From a form</h1>');
      const swapped = await alice.agent.post('/posts').set(htmx).type('form').send({ title: 'From htmx', body: 'Hello' });
      expect(swapped.status).toBe(204);
      expect(swapped.headers['hx-redirect']).toMatch(/^\/posts\/\d+-from-htmx$/);
    });

    it('a bad post is a 422 with field errors and what was typed; with htmx, only the form', async () => {
      const before = await h.orm.em.fork().count(Post, {});
      const page = await alice.agent.post('/posts').type('form').send({ title: '  ', body: 'kept <text>' });
      expect(page.status).toBe(422);
      expect(page.text).toContain('<html');
      expect(page.text).toContain('id="post-title-error"');
      expect(page.text).toContain('kept &lt;text&gt;</textarea>');
      const fragment = await alice.agent.post('/posts').set(htmx).type('form').send({ title: 'ok', body: '' });
      expect(fragment.status).toBe(422);
      expect(fragment.text.trimStart()).toMatch(/^<form id="post-form"/);
      expect(fragment.text).toContain('id="post-body-error"');
      const arrays = await alice.agent.post('/posts').type('form').send('title=a&title=b&body=x');
      expect(arrays.status).toBe(422);
      expect(await h.orm.em.fork().count(Post, {})).toBe(before);
    });

    it('accepts a body of 100,000 characters and refuses one more', async () => {
      const body = 'é'.repeat(100_000);
      const ok = await alice.agent.post('/posts').type('form').send({ title: 'Long', body });
      expect(ok.status).toBe(303);
      const tooLong = await alice.agent.post('/posts').type('form').send({ title: 'Long', body: `${body}x` });
      expect(tooLong.status).toBe(422);
      expect(tooLong.text).toContain('100,000 characters');
    });

    it('the author can edit (303 to the post) and delete (303 to /)', async () => {
      const post = await publish(alice, 'Before');
      const form = await alice.agent.get(`/posts/${post.id}/edit`).expect(200);
      expect(form.text).toContain('value="Before"');
      const edited = await alice.agent.post(`/posts/${post.id}/edit`).type('form').send({ title: 'After', body: 'new body' });
      expect(edited.status).toBe(303);
      expect(edited.headers.location).toBe(`/posts/${post.id}-before`); // the slug stays when the title changes
      expect((await stored(post.id))!.title).toBe('After');
      const deleted = await alice.agent.post(`/posts/${post.id}/delete`).set(htmx);
      expect(deleted.status).toBe(204);
      expect(deleted.headers['hx-redirect']).toBe('/');
      expect(await stored(post.id)).toBeNull();
      expect((await h.request().get(at(post))).status).toBe(404);
    });

    it('preview renders the Markdown: with htmx the fragment, without the whole editor with the preview', async () => {
      const fragment = await alice.agent.post('/posts/preview').set(htmx).type('form').send({ title: 'T', body: '# Big\n\n*soft*' });
      expect(fragment.status).toBe(200);
      expect(fragment.text).not.toContain('<html');
      expect(fragment.text).toContain('<h2>Big</h2>');
      expect(fragment.text).toContain('<em>soft</em>');
      const page = await alice.agent.post('/posts/preview').type('form').send({ title: 'Kept title', body: '# Big' });
      expect(page.status).toBe(200);
      expect(page.text).toContain('<form id="post-form"');
      expect(page.text).toContain('action="/posts"');
      expect(page.text).toContain('value="Kept title"');
      expect(page.text).toContain('<h2>Big</h2>');
      const editing = await alice.agent.post('/posts/preview').type('form').send({ title: 'x', body: 'y', post_id: '7' });
      expect(editing.text).toContain('action="/posts/7/edit"');
      const empty = await alice.agent.post('/posts/preview').set(htmx).type('form').send({ body: '  ' });
      expect(empty.status).toBe(422);
      expect(empty.text).toContain('Write something in the post.');
    });
  });

  describe('authorization', () => {
    it('another user cannot edit or delete a post by page: 403, post unchanged', async () => {
      const post = await publish(alice, 'Untouchable', 'original');
      expect((await bob.agent.get(`/posts/${post.id}/edit`)).status).toBe(403);
      const edit = await bob.agent.post(`/posts/${post.id}/edit`).type('form').send({ title: 'Defaced', body: 'x', author_id: String(bob.id) });
      expect(edit.status).toBe(403);
      expect((await bob.agent.post(`/posts/${post.id}/delete`).type('form').send({ author_id: String(bob.id) })).status).toBe(403);
      expect((await bob.agent.post(`/posts/${post.id}/delete`).set(htmx)).status).toBe(403);
      const row = (await stored(post.id))!;
      expect([row.title, row.body, row.author.id]).toEqual(['Untouchable', 'original', alice.id]);
    });

    it('another user cannot edit or delete a post by API: 403, post unchanged', async () => {
      const post = await publish(alice, 'Untouchable', 'original');
      const patch = await bob.agent.patch(`/api/posts/${post.id}`).send({ title: 'Defaced', author_id: bob.id });
      expect(patch.status).toBe(403);
      expect(patch.body.error.code).toBe('not_author');
      expect((await bob.agent.delete(`/api/posts/${post.id}`)).status).toBe(403);
      const row = (await stored(post.id))!;
      expect([row.title, row.author.id]).toEqual(['Untouchable', alice.id]);
    });

    it('a forged author_id is ignored: the post belongs to whoever is logged in', async () => {
      const form = await bob.agent.post('/posts').type('form').send({ title: 'Forged', body: 'x', author_id: String(alice.id) });
      const id = Number(/\/posts\/(\d+)-/.exec(form.headers.location)![1]);
      expect((await stored(id))!.author.id).toBe(bob.id);
      const api = await bob.agent.post('/api/posts').send({ title: 'Forged', body: 'x', author_id: alice.id, author: { id: alice.id } });
      expect(api.body.post.author.username).toBe('bob');
      const patched = await bob.agent.patch(`/api/posts/${api.body.post.id}`).send({ title: 'Still mine', author_id: alice.id });
      expect(patched.status).toBe(200);
      expect((await stored(api.body.post.id))!.author.id).toBe(bob.id);
    });

    it('anonymous writers are sent to log in (pages) or get 401 (API), and nothing changes', async () => {
      const post = await publish(alice, 'Safe', 'body');
      const before = await h.orm.em.fork().count(Post, {});
      const anon = h.request();
      const expectLogin = (res: { status: number; headers: Record<string, string> }, next: string) => {
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe(`/login?next=${encodeURIComponent(next)}`);
      };
      expectLogin(await anon.get('/posts/new'), '/posts/new');
      expectLogin(await anon.post('/posts').type('form').send({ title: 'x', body: 'y' }), '/posts/new');
      expectLogin(await anon.post('/posts/preview').type('form').send({ body: 'y' }), '/posts/new');
      expectLogin(await anon.get(`/posts/${post.id}/edit`), `/posts/${post.id}/edit`);
      expectLogin(await anon.post(`/posts/${post.id}/edit`).type('form').send({ title: 'x', body: 'y' }), `/posts/${post.id}/edit`);
      expectLogin(await anon.post(`/posts/${post.id}/delete`), `/posts/${post.id}`);
      for (const res of [
        await anon.post('/api/posts').send({ title: 'x', body: 'y' }),
        await anon.patch(`/api/posts/${post.id}`).send({ title: 'x' }),
        await anon.delete(`/api/posts/${post.id}`),
      ]) {
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('not_authenticated');
      }
      expect(await h.orm.em.fork().count(Post, {})).toBe(before);
      expect((await stored(post.id))!.title).toBe('Safe');
    });

    it('a cross-site form POST to /posts is refused', async () => {
      const res = await alice.agent.post('/posts').set('Sec-Fetch-Site', 'cross-site').type('form').send({ title: 'csrf', body: 'x' });
      expect(res.status).toBe(403);
    });
  });

  describe('JSON API', () => {
    it('POST 201, GET, PATCH 200 and DELETE 204 answer the documented shapes', async () => {
      const created = await alice.agent.post('/api/posts').send({ title: ' API ', body: '**hi**' });
      expect(created.status).toBe(201);
      const { post } = created.body;
      expect(created.headers.location).toBe(`/api/posts/${post.id}`);
      expect(Object.keys(post).sort()).toEqual([
        'author', 'body', 'created_at', 'excerpt', 'html', 'id', 'published_at', 'slug', 'status', 'title', 'updated_at', 'url',
      ]);
      expect(post).toMatchObject({ status: 'published', slug: 'api', url: `https://inkwell.test/posts/${post.id}-api` });
      expect(post).toMatchObject({ title: 'API', body: '**hi**', html: '<p><strong>hi</strong></p>\n', author: { username: 'alice' } });
      expect((await h.request().get(`/api/posts/${post.id}`).expect(200)).body.post).toEqual(post);
      const patched = await alice.agent.patch(`/api/posts/${post.id}`).send({ body: 'changed' });
      expect(patched.status).toBe(200);
      expect(patched.body.post).toMatchObject({ title: 'API', body: 'changed' });
      const list = await h.request().get('/api/posts').expect(200);
      expect(Object.keys(list.body.posts[0]).sort()).toEqual(['author', 'created_at', 'excerpt', 'id', 'published_at', 'slug', 'status', 'title', 'updated_at', 'url']);
      expect((await alice.agent.delete(`/api/posts/${post.id}`)).status).toBe(204);
      expect((await alice.agent.delete(`/api/posts/${post.id}`)).status).toBe(404);
      expect((await alice.agent.patch(`/api/posts/${post.id}`).send({ title: 'x' })).status).toBe(404);
    });

    it('bad bodies are 422 with field errors', async () => {
      const cases = [{}, { title: 'x' }, { title: ['a'], body: 'b' }, { title: 'x', body: { $gt: '' } }, { title: '', body: 'b' }];
      for (const body of cases) {
        const res = await alice.agent.post('/api/posts').send(body);
        expect(res.status, JSON.stringify(body)).toBe(422);
        expect(res.body.error.code).toBe('invalid_input');
      }
      const post = await publish(alice);
      expect((await alice.agent.patch(`/api/posts/${post.id}`).send({})).status).toBe(422);
      expect((await alice.agent.patch(`/api/posts/${post.id}`).send({ title: 'x'.repeat(201) })).body.error.fields.title).toBeDefined();
    });
  });

  describe('the anonymous page cache', () => {
    it('a visitor without a cookie gets pages without a session: no cookie set, no session row', async () => {
      const post = await publish(alice);
      const sessions = await h.orm.em.fork().count(Session, {});
      for (const path of ['/', at(post), '/users/alice', '/', at(post)]) {
        const res = await h.request().get(path).expect(200);
        expect(res.headers['set-cookie'], path).toBeUndefined();
        expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      }
      expect(await h.orm.em.fork().count(Session, {})).toBe(sessions);
    });

    it('every write shows at once: publish, edit and delete reach the anonymous feed and post page', async () => {
      const post = await publish(alice, 'Cached title');
      await h.request().get('/').expect(200);
      await h.request().get(at(post)).expect(200);
      await alice.agent.post(`/posts/${post.id}/edit`).type('form').send({ title: 'Edited title', body: 'x' }).expect(303);
      expect((await h.request().get('/')).text).toContain('Edited title');
      expect((await h.request().get(at(post))).text).toContain('<h1>Edited title</h1>');
      await alice.agent.delete(`/api/posts/${post.id}`).expect(204);
      expect((await h.request().get('/')).text).not.toContain('Edited title');
      expect((await h.request().get(at(post))).status).toBe(404);
      const fresh = await publish(bob, 'Brand new');
      expect((await h.request().get('/')).text).toContain(`href="${at(fresh)}">Brand new</a>`);
    });

    it('a logged-in reader never gets the anonymous page', async () => {
      await h.request().get('/').expect(200);
      const res = await alice.agent.get('/').expect(200);
      expect(res.text).toContain('Signed in as');
      expect(res.text).toContain('href="/posts/new"');
    });

    it('conditional requests get 304 from the cache', async () => {
      const first = await h.request().get('/').expect(200);
      const etag = first.headers.etag;
      expect(etag).toMatch(/^W\//);
      await h.request().get('/').set('If-None-Match', etag).expect(304);
    });
  });
});
