// Issue 25: drafts and schedules (filtered at read time, on an injected clock), readable addresses
// with redirects, and the head metadata link previews read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'htmlparser2';
import { DomUtils } from 'htmlparser2';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';

type Writer = Awaited<ReturnType<typeof registeredUser>>;
type ApiPost = { id: number; slug: string; url: string; status: string; published_at: string | null; title: string };

describe.each(dialects())('publishing on %s', (dialect) => {
  let h: Harness;
  // Real time plus an offset the tests move forward: jobs and sessions keep running on a moving clock.
  let offset = 0;
  const now = () => new Date(Date.now() + offset);
  const setClock = (at: Date) => void (offset = at.getTime() - Date.now());
  let alice: Writer;
  let bob: Writer;
  beforeAll(async () => {
    h = await startHarness(dialect, { app: { now } });
    alice = await registeredUser(h, 'alice');
    bob = await registeredUser(h, 'bob');
  });
  afterAll(() => h.close());

  const create = async (fields: Record<string, unknown>) =>
    (await alice.agent.post('/api/posts').send({ body: 'Some words.', ...fields }).expect(201)).body.post as ApiPost;
  const path = (post: { id: number; slug: string }) => `/posts/${post.id}-${post.slug}`;

  /** Every read the public has, as an anonymous reader and as another writer: does `title` appear anywhere? */
  async function seenByOthers(post: ApiPost): Promise<string[]> {
    const seen: string[] = [];
    for (const [who, get] of [['anonymous', (url: string) => h.request().get(url)], ['bob', (url: string) => bob.agent.get(url)]] as const) {
      for (const url of ['/', '/users/alice', '/api/posts', path(post), `/api/posts/${post.id}`, '/feed.xml', '/users/alice/feed.xml', '/sitemap.xml']) {
        const res = await get(url);
        if (res.status === 200 && (res.text.includes(post.title) || res.text.includes(path(post)))) seen.push(`${who} ${url}`);
        if (url.includes(String(post.id)) && res.status !== 404) seen.push(`${who} ${url} answered ${res.status}`);
      }
    }
    return seen;
  }

  it('a draft is absent from every read for others, and shown to its author, marked', async () => {
    const draft = await create({ title: 'Secret draft words', status: 'draft' });
    expect(draft).toMatchObject({ status: 'draft', published_at: null });
    expect(await seenByOthers(draft)).toEqual([]);
    const page = await alice.agent.get(path(draft)).expect(200);
    expect(page.text).toContain('Draft: only you can see this post.');
    expect(page.text).toContain('<meta name="robots" content="noindex">');
    const mine = await alice.agent.get('/users/alice').expect(200);
    expect(mine.text).toContain('Your drafts and scheduled posts');
    expect(mine.text).toContain('Secret draft words');
    expect((await alice.agent.get(`/api/posts/${draft.id}`).expect(200)).body.post.status).toBe('draft');
  });

  it('a scheduled post appears once its time passes, on every read, even with pages cached before', async () => {
    const at = new Date(Math.ceil((now().getTime() + 60 * 60_000) / 1000) * 1000);
    const scheduled = await create({ title: 'Scheduled words', published_at: at.toISOString() });
    expect(scheduled).toMatchObject({ status: 'published', published_at: at.toISOString() });
    expect(await seenByOthers(scheduled)).toEqual([]); // also fills the anonymous page cache
    expect((await alice.agent.get('/users/alice')).text).toMatch(/Scheduled<\/span> <time/);
    setClock(new Date(at.getTime() - 2_000));
    expect((await h.request().get('/')).text).not.toContain('Scheduled words');
    setClock(new Date(at.getTime() + 1));
    expect((await h.request().get('/')).text).toContain('Scheduled words');
    expect((await h.request().get('/users/alice')).text).toContain('Scheduled words');
    await h.request().get(path(scheduled)).expect(200);
    expect((await h.request().get('/api/posts')).body.posts.map((p: ApiPost) => p.id)).toContain(scheduled.id);
  });

  it('the editor saves a draft, publishes, and schedules (UTC); a schedule without a time is a 422', async () => {
    const draft = await alice.agent.post('/posts').type('form').send({ title: 'Form draft', body: 'x', intent: 'draft' });
    expect(draft.status).toBe(303);
    const id = Number(/\/posts\/(\d+)-form-draft$/.exec(draft.headers.location)![1]);
    expect((await h.request().get(draft.headers.location)).status).toBe(404);
    const editor = await alice.agent.get(`/posts/${id}/edit`).expect(200);
    expect(editor.text).toContain('This post is a draft');
    const when = new Date(now().getTime() + 86_400_000).toISOString().slice(0, 16);
    const scheduled = await alice.agent.post(`/posts/${id}/edit`).type('form').send({ title: 'Form draft', body: 'x', intent: 'schedule', publish_at: when });
    expect(scheduled.status).toBe(303);
    const api = (await alice.agent.get(`/api/posts/${id}`)).body.post;
    expect(api.published_at).toBe(`${when}:00.000Z`);
    expect((await alice.agent.get(`/posts/${id}/edit`)).text).toContain(`This post is scheduled for ${when.replace('T', ' ')} UTC`);
    const missing = await alice.agent.post(`/posts/${id}/edit`).type('form').send({ title: 'Form draft', body: 'x', intent: 'schedule', publish_at: '' });
    expect(missing.status).toBe(422);
    expect(missing.text).toContain('Give a date and time.');
    const before = now().getTime();
    await alice.agent.post(`/posts/${id}/edit`).type('form').send({ title: 'Form draft', body: 'x', intent: 'publish' }).expect(303);
    const published = Date.parse((await h.request().get(`/api/posts/${id}`).expect(200)).body.post.published_at);
    expect(published).toBeGreaterThanOrEqual(before);
    expect(published).toBeLessThanOrEqual(now().getTime());
  });

  describe('addresses', () => {
    it('the slug is the transliterated title; /posts/:id and any other slug 301 to the current address', async () => {
      const post = await create({ title: 'Über Café & Привет!' });
      expect(post.slug).toBe('ueber-cafe-and-privet');
      expect(post.url).toBe(`https://inkwell.test/posts/${post.id}-ueber-cafe-and-privet`);
      for (const old of [`/posts/${post.id}`, `/posts/${post.id}-wrong`, `/posts/${post.id}-`, `/posts/${post.id}-UEBER-cafe-and-privet`]) {
        const res = await h.request().get(old);
        expect(res.status, old).toBe(301);
        expect(res.headers.location).toBe(path(post));
      }
      expect((await h.request().get(`/posts/9${post.id}0-ueber-cafe-and-privet`)).status).toBe(404);
    });

    it('a new title keeps the slug unless the author edits it; the old slug then redirects', async () => {
      const post = await create({ title: 'First title' });
      const renamed = (await alice.agent.patch(`/api/posts/${post.id}`).send({ title: 'Second title' }).expect(200)).body.post;
      expect(renamed.slug).toBe('first-title');
      const reslugged = (await alice.agent.patch(`/api/posts/${post.id}`).send({ slug: 'second-title' }).expect(200)).body.post;
      expect(reslugged.url).toMatch(/-second-title$/);
      const old = await h.request().get(`/posts/${post.id}-first-title`);
      expect([old.status, old.headers.location]).toEqual([301, `/posts/${post.id}-second-title`]);
      const bad = await alice.agent.patch(`/api/posts/${post.id}`).send({ slug: 'No Spaces!' });
      expect(bad.status).toBe(422);
      expect(bad.body.error.fields.slug).toBeDefined();
    });
  });

  it('the post page has a canonical link, Open Graph, a twitter card and reading time, absolute from APP_BASE_URL whatever Host says', async () => {
    const post = await create({ title: 'Previewed <card>', body: `# Heading\n\n${'word '.repeat(600)}` });
    const res = await h.request().get(path(post)).set('Host', 'evil.example').set('X-Forwarded-Host', 'evil.example').expect(200);
    const doc = parseDocument(res.text);
    const meta = (key: string) =>
      DomUtils.findOne((el) => el.name === 'meta' && (el.attribs.property === key || el.attribs.name === key), doc.children)?.attribs.content;
    const link = (rel: string) => DomUtils.findOne((el) => el.name === 'link' && el.attribs.rel === rel, doc.children)?.attribs.href;
    const url = `https://inkwell.test${path(post)}`;
    expect(link('canonical')).toBe(url);
    expect(meta('og:url')).toBe(url);
    expect(meta('og:type')).toBe('article');
    expect(meta('og:title')).toBe('Previewed <card>');
    expect(meta('og:site_name')).toBe('Inkwell');
    expect(meta('og:description')).toMatch(/^Heading\. word word/);
    expect(meta('description')).toBe(meta('og:description'));
    expect(meta('article:published_time')).toBe(post.published_at);
    expect(meta('article:modified_time')).toBeDefined();
    expect(meta('article:author')).toBe('https://inkwell.test/users/alice');
    expect(meta('twitter:card')).toBe('summary');
    expect(res.text).not.toContain('evil.example');
    expect(res.text).toContain('3 min read'); // 601 words at 238 a minute
  });
});
