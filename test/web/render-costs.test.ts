// Issue 30, finding 3: anonymous readers must not be able to make the server render Markdown (or
// parse 1.5 MB bodies) per request. Posts are rendered when written; readers get the stored HTML.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Post } from '../../src/db/entities.ts';
import { RATE_LIMITS } from '../../src/limits/policy.ts';
import { RENDER_VERSION } from '../../src/posts/markdown.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';

describe.each(dialects())('render costs on %s', (dialect) => {
  let h: Harness;
  let alice: Awaited<ReturnType<typeof registeredUser>>;
  beforeAll(async () => {
    h = await startHarness(dialect);
    alice = await registeredUser(h, 'alice');
  });
  afterAll(() => h.close());

  const publish = async (title: string, body: string) =>
    (await alice.agent.post('/api/posts').send({ title, body }).expect(201)).body.post as { id: number; slug: string; url: string };
  /** Changes a row behind the domain's back: what readers get then shows whether anything was rendered or read again. */
  const tamper = (id: number, changes: Partial<Pick<Post, 'body' | 'renderedWith' | 'title'>>) =>
    h.orm.em.fork().nativeUpdate(Post, { id }, changes);

  it('a post is rendered when written: readers (page and API) get the stored HTML, not a new rendering', async () => {
    const post = await publish('Stored', 'Rendered **once**.');
    await tamper(post.id, { body: 'Rendered **twice**.' });
    const api = await h.request().get(`/api/posts/${post.id}`).expect(200);
    expect(api.body.post.html).toBe('<p>Rendered <strong>once</strong>.</p>\n');
    const page = await alice.agent.get(`/posts/${post.id}-${post.slug}`).expect(200);
    expect(page.text).toContain('Rendered <strong>once</strong>.');
  });

  it('a post rendered by an older renderer version is rendered again, once, and stored', async () => {
    const post = await publish('Old', 'Made by the **old** rules.');
    await tamper(post.id, { body: 'Made by the **new** rules.', renderedWith: RENDER_VERSION - 1 });
    const api = await h.request().get(`/api/posts/${post.id}`).expect(200);
    expect(api.body.post.html).toContain('<strong>new</strong>');
    const row = await h.orm.em.fork().findOneOrFail(Post, { id: post.id });
    expect(row.renderedWith).toBe(RENDER_VERSION);
    expect(row.html).toContain('<strong>new</strong>');
    expect(row.excerpt).toBe('Made by the new rules.');
  });

  it('the housekeeping sweep re-renders every stale post', async () => {
    const post = await publish('Swept', 'Before the **sweep**.');
    await tamper(post.id, { body: 'After the **sweep**.', renderedWith: 0 });
    await h.housekeeping();
    const row = await h.orm.em.fork().findOneOrFail(Post, { id: post.id });
    expect([row.renderedWith, row.excerpt]).toEqual([RENDER_VERSION, 'After the sweep.']);
  });

  it('the page cache is keyed on the path and the parameters the page uses: made-up parameters hit the stored page', async () => {
    const post = await publish('Cached one', 'x');
    const path = `/posts/${post.id}-${post.slug}`;
    await h.request().get('/').expect(200);
    await h.request().get(path).expect(200);
    // Changed behind the cache's back (no write through the domain, so nothing empties it).
    await tamper(post.id, { title: 'Changed behind the cache' });
    for (const url of ['/?n=1', '/?n=2&x=y', '/?before=junk', `${path}?n=3`]) {
      const res = await h.request().get(url).expect(200);
      expect(res.text, url).toContain('Cached one');
      expect(res.text, url).not.toContain('Changed behind the cache');
    }
    // htmx requests for these pages get the same full page, so they are served from it too.
    expect((await h.request().get('/?n=4').set('HX-Request', 'true').set('HX-Boosted', 'true')).text).toContain('Cached one');
  });

  it('an anonymous write is refused without reading its body: a malformed 1 MB body gets 401, not 400', async () => {
    const junk = `{"title": "x", "body": "${'a'.repeat(1_000_000)}`; // never closed: parsing it would fail
    const res = await h.request().post('/api/posts').set('Content-Type', 'application/json').send(junk);
    expect(res.status).toBe(401);
    const form = await h.request().post('/posts').type('form').send(`title=x&body=${'%'.repeat(10)}`);
    expect(form.status).toBe(303);
    expect(form.headers.location).toBe('/login?next=%2Fposts%2Fnew');
    // A signed-in writer's body is parsed (and a broken one is a 400).
    expect((await alice.agent.post('/api/posts').set('Content-Type', 'application/json').send(junk)).status).toBe(400);
  });
});

describe('the preview is rate limited', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite', { env: { RATE_LIMITS: 'on' } });
  });
  afterAll(() => h.close());

  it(`after ${RATE_LIMITS.preview.limit} previews in the window the next is 429, and renders nothing`, async () => {
    const alice = await registeredUser(h, 'alice');
    const preview = () => alice.agent.post('/posts/preview').set('HX-Request', 'true').type('form').send({ body: '**hi**' });
    for (let i = 0; i < RATE_LIMITS.preview.limit; i++) expect((await preview()).status).toBe(200);
    const refused = await preview();
    expect(refused.status).toBe(429);
    expect(refused.text).not.toContain('<strong>hi</strong>');
  });
});
