// Issue 25: Atom feeds, the sitemap and robots.txt. Every document is checked by a strict XML parser
// (saxes: one forbidden character or a stray `]]>` is an error, as in real feed readers) and then read.
import { SaxesParser } from 'saxes';
import { DomUtils, parseDocument } from 'htmlparser2';
import type { Element } from 'domhandler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Post } from '../../src/db/entities.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';

/** Fails on anything that is not well-formed XML 1.0; the document's elements otherwise. */
function parseXml(text: string) {
  const strict = new SaxesParser({ xmlns: true });
  let problem: string | null = null;
  strict.on('error', (err) => void (problem ??= err.message));
  strict.write(text).close();
  expect(problem).toBeNull();
  return parseDocument(text, { xmlMode: true });
}
const all = (doc: ReturnType<typeof parseDocument>, name: string) => DomUtils.getElementsByTagName(name, doc.children, true) as Element[];
const childText = (el: Element, name: string) => DomUtils.textContent(DomUtils.getElementsByTagName(name, el.children, false)[0] ?? []);

const HOSTILE_TITLE = 'Less < more & "quotes" ]]> 🙂 שלום\u0001';
const HOSTILE_BODY = 'Body with <b>tags</b> & ]]> and 🙂 and العربية and a control \u0001 character.';

describe.each(dialects())('feeds on %s', (dialect) => {
  let h: Harness;
  let alice: Awaited<ReturnType<typeof registeredUser>>;
  let hostile: { id: number; slug: string };
  let offset = 0;
  const now = () => new Date(Date.now() + offset);
  beforeAll(async () => {
    h = await startHarness(dialect, { app: { now } });
    alice = await registeredUser(h, 'alice');
    // Control characters cannot come in through forms or the API; they can through old rows or db:copy.
    const post = (await alice.agent.post('/api/posts').send({ title: 'placeholder', body: 'placeholder' }).expect(201)).body.post;
    const edited = await alice.agent.patch(`/api/posts/${post.id}`).send({ body: HOSTILE_BODY.replace('\u0001', '') }).expect(200);
    hostile = edited.body.post;
    await h.orm.em.fork().nativeUpdate(Post, { id: post.id }, { title: HOSTILE_TITLE, html: `<p>${HOSTILE_BODY.replace('<b>', '&lt;b&gt;')}</p>` });
  });
  afterAll(() => h.close());

  const feed = async (path = '/feed.xml', host = 'evil.example') => {
    const res = await h.request().get(path).set('Host', host).set('X-Forwarded-Host', host).expect(200);
    expect(res.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    return { res, doc: parseXml(res.text) };
  };

  it('is well-formed with <, &, ]]>, U+0001, emoji and RTL text, and carries them (but U+0001) through', async () => {
    const { res, doc } = await feed();
    expect(res.text).not.toContain('evil.example');
    const entry = all(doc, 'entry').find((e) => childText(e, 'title').startsWith('Less'))!;
    expect(childText(entry, 'title')).toBe(HOSTILE_TITLE.replace('\u0001', ''));
    const content = DomUtils.getElementsByTagName('content', entry.children, false)[0];
    expect(content.attribs.type).toBe('html');
    // The full post as HTML, escaped once: a reader unescapes it to the post's HTML.
    expect(DomUtils.textContent(content)).toBe(`<p>${HOSTILE_BODY.replace('<b>', '&lt;b&gt;').replace('\u0001', '')}</p>`);
  });

  it('has absolute links from APP_BASE_URL, rel=self and rel=alternate, and tag: ids that survive edits', async () => {
    const { doc } = await feed();
    const links = all(doc, 'link').map((l) => `${l.attribs.rel} ${l.attribs.href}`);
    expect(links).toContain('self https://inkwell.test/feed.xml');
    expect(links).toContain('alternate https://inkwell.test/');
    expect(links).toContain(`alternate https://inkwell.test/posts/${hostile.id}-${hostile.slug}`);
    const idOf = (d: ReturnType<typeof parseDocument>) =>
      childText(all(d, 'entry').find((e) => childText(e, 'id').endsWith(`:post-${hostile.id}`))!, 'id');
    const before = idOf(doc);
    expect(before).toMatch(new RegExp(`^tag:inkwell\\.test,\\d{4}-\\d{2}-\\d{2}:post-${hostile.id}$`));
    const updatedBefore = childText(all(doc, 'entry').find((e) => childText(e, 'id') === before)!, 'updated');
    offset += 60_000;
    await alice.agent.patch(`/api/posts/${hostile.id}`).send({ title: 'A new title', slug: 'a-new-slug' }).expect(200);
    const after = (await feed()).doc;
    const entry = all(after, 'entry').find((e) => childText(e, 'id') === before)!;
    expect(childText(entry, 'title')).toBe('A new title');
    expect(Date.parse(childText(entry, 'updated'))).toBeGreaterThan(Date.parse(updatedBefore)); // the real edit time
  });

  it('lists no drafts or future posts; the author feed only the author; an unknown author is 404', async () => {
    await alice.agent.post('/api/posts').send({ title: 'Draft in feed?', body: 'x', status: 'draft' }).expect(201);
    const future = new Date(now().getTime() + 3_600_000).toISOString();
    await alice.agent.post('/api/posts').send({ title: 'Future in feed?', body: 'x', published_at: future }).expect(201);
    const bob = await registeredUser(h, 'bob');
    await bob.agent.post('/api/posts').send({ title: 'By bob', body: 'x' }).expect(201);
    for (const path of ['/feed.xml', '/users/alice/feed.xml', '/sitemap.xml']) {
      const text = (await h.request().get(path).expect(200)).text;
      parseXml(text);
      expect(text, path).not.toContain('Draft in feed?');
      expect(text, path).not.toContain('Future in feed?');
    }
    const mine = (await feed('/users/alice/feed.xml')).doc;
    expect(all(mine, 'entry').map((e) => childText(e, 'name'))).not.toContain('bob');
    expect(all(mine, 'link').find((l) => l.attribs.rel === 'self')!.attribs.href).toBe('https://inkwell.test/users/alice/feed.xml');
    expect((await h.request().get('/users/nobody/feed.xml')).status).toBe(404);
  });

  it('answers a conditional request with 304', async () => {
    const first = await h.request().get('/feed.xml').expect(200);
    expect(first.headers.etag).toBeDefined();
    await h.request().get('/feed.xml').set('If-None-Match', first.headers.etag).expect(304);
  });

  it('pages link their feeds (autodiscovery)', async () => {
    const home = parseDocument((await h.request().get('/').expect(200)).text);
    const atom = all(home, 'link').filter((l) => l.attribs.type === 'application/atom+xml').map((l) => l.attribs.href);
    expect(atom).toEqual(['https://inkwell.test/feed.xml']);
    const author = parseDocument((await h.request().get('/users/alice').expect(200)).text);
    expect(all(author, 'link').map((l) => l.attribs.href)).toContain('https://inkwell.test/users/alice/feed.xml');
  });

  it('the sitemap lists public posts with lastmod and the authors, absolutely; robots.txt names it', async () => {
    const res = await h.request().get('/sitemap.xml').set('Host', 'evil.example').expect(200);
    expect(res.headers['content-type']).toBe('application/xml; charset=utf-8');
    const doc = parseXml(res.text);
    const urls = all(doc, 'url').map((u) => ({ loc: childText(u, 'loc'), lastmod: childText(u, 'lastmod') }));
    expect(urls.every((u) => u.loc.startsWith('https://inkwell.test/'))).toBe(true);
    expect(urls.map((u) => u.loc)).toEqual(expect.arrayContaining(['https://inkwell.test/', 'https://inkwell.test/users/alice', 'https://inkwell.test/users/bob']));
    const post = urls.find((u) => u.loc.includes(`/posts/${hostile.id}-`))!;
    expect(Number.isNaN(Date.parse(post.lastmod))).toBe(false);
    const robots = await h.request().get('/robots.txt').set('Host', 'evil.example').expect(200);
    expect(robots.text).toContain('Sitemap: https://inkwell.test/sitemap.xml');
    expect(robots.headers['content-type']).toMatch(/^text\/plain/);
  });
});
