// Issue 25: search on both databases. Any query text is safe (no 500), drafts and future posts are
// never found, snippets are escaped text with the matches marked, and limits hold.
import { DomUtils, parseDocument } from 'htmlparser2';
import type { Element } from 'domhandler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RATE_LIMITS } from '../../src/limits/policy.ts';
import { QUERY_MAX } from '../../src/posts/index.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';

// What users type, and what breaks naive FTS5 MATCH / to_tsquery calls.
const HOSTILE_QUERIES = [
  '"unclosed', 'NEAR(', 'NEAR(a b', '-word', '*', 'title:', 'body:x', 'a AND', 'OR', 'NOT', '(', ')', '^', ':',
  "'", "''", '\\', '%', '_', '--', '/*', ';drop table post;', "' or 1=1 --", '<script>alert(1)</script>', '&amp;',
  '\u0000', '\u0001', '\uE000\uE001', '🙂', 'שלום', 'a'.repeat(QUERY_MAX), 'a b c d e f g h i j k l m n o p',
  '{{ 7*7 }}', '${7*7}', 'café', 'CAFE', '   ', '', 'drafty', 'futuristic',
];

describe.each(dialects())('search on %s', (dialect) => {
  let h: Harness;
  let alice: Awaited<ReturnType<typeof registeredUser>>;
  beforeAll(async () => {
    h = await startHarness(dialect);
    alice = await registeredUser(h, 'alice');
    const publish = (fields: Record<string, unknown>) => alice.agent.post('/api/posts').send(fields).expect(201);
    await publish({ title: 'Writing with ink', body: 'Fountain pens and <b>bold</b> claims & "quotes" about inkwells. The ink dries slowly.' });
    await publish({ title: 'Café notes', body: 'A café in the morning: ink, paper and coffee.' });
    await publish({ title: 'Hostile <script>alert(1)</script>', body: 'Searchable <img src=x onerror=alert(1)> markup stays text.' });
    await publish({ title: 'drafty secret', body: 'drafty words nobody may find', status: 'draft' });
    await publish({ title: 'futuristic secret', body: 'futuristic words', published_at: '2999-01-01T00:00:00Z' });
  });
  afterAll(() => h.close());

  const search = async (q: string) => (await h.request().get('/api/posts').query({ q }).expect(200)).body.posts as {
    title: string; snippet: string; status: string;
  }[];

  it('finds public posts by words of the title or body, best first, stemmed and without accents on SQLite', async () => {
    const ink = await search('ink');
    expect(ink.map((p) => p.title)).toEqual(expect.arrayContaining(['Writing with ink', 'Café notes']));
    expect(ink[0].title).toBe('Writing with ink'); // in the title and the body
    expect((await search('pens writing')).map((p) => p.title)).toEqual(['Writing with ink']); // every word, stemmed
    expect((await search('café')).map((p) => p.title)).toEqual(['Café notes']);
    if (dialect === 'sqlite') expect((await search('cafe')).map((p) => p.title)).toEqual(['Café notes']);
  });

  it('snippets are escaped text with the matches marked', async () => {
    const [hit] = await search('fountain');
    expect(hit.snippet).toContain('<mark>Fountain</mark>');
    // Escaped on SQLite; Postgres's ts_headline drops tags from the text itself. Markup never survives.
    expect(hit.snippet).toContain('&#38; &#34;quotes&#34;');
    expect(hit.snippet).not.toContain('<b>');
    const fragment = parseDocument(hit.snippet);
    expect(DomUtils.findAll(() => true, fragment.children).map((el: Element) => el.name)).toEqual(['mark']);
    const [hostile] = await search('searchable markup');
    expect(hostile.snippet).not.toMatch(/<(?!\/?mark>)/);
  });

  it.each(HOSTILE_QUERIES.map((q) => [JSON.stringify(q).slice(0, 40), q]))('the query %s answers 200 or 422, never finds a draft, never returns raw HTML', async (_name, q) => {
    const api = await h.request().get('/api/posts').query({ q });
    expect([200, 422], `${api.status} ${api.text.slice(0, 200)}`).toContain(api.status);
    const page = await h.request().get('/search').query({ q });
    expect(page.status).toBe(api.status);
    for (const res of [api, page]) {
      expect(res.text).not.toContain('drafty secret');
      expect(res.text).not.toContain('futuristic secret');
    }
    // JSON titles are plain text; what is HTML (snippets, the page) holds no markup but ours.
    for (const post of (api.body.posts ?? []) as { snippet: string }[]) expect(post.snippet).not.toMatch(/<(?!\/?mark>)/);
    expect(page.text).not.toContain('<script>alert');
    expect(page.text).not.toContain('<img');
  });

  it('refuses over-long queries with 422 and counts only the first words', async () => {
    const long = await h.request().get('/api/posts').query({ q: 'a'.repeat(QUERY_MAX + 1) });
    expect(long.status).toBe(422);
    expect(long.body.error.fields.q).toMatch(/200 characters/);
    expect((await h.request().get('/search').query({ q: 'a'.repeat(QUERY_MAX + 1) })).status).toBe(422);
    // Nine words: the ninth ("zzz", in no post) is ignored, so the post with the first eight is found.
    const found = await search('the ink dries slowly fountain pens and bold zzz');
    expect(found.map((p) => p.title)).toEqual(['Writing with ink']);
    expect((await h.request().get('/api/posts?q=a&q=b')).status).toBe(422);
  });

  it('the page works without JavaScript and gives htmx only the results; the header has the form', async () => {
    const page = await h.request().get('/search').query({ q: 'ink' }).expect(200);
    expect(page.text).toContain('<h1>Search</h1>');
    expect(page.text).toContain('class="site-search"');
    expect(page.text).toMatch(/2 posts match “ink”/);
    const fragment = await h.request().get('/search').query({ q: 'ink' }).set('HX-Request', 'true').expect(200);
    expect(fragment.text).not.toContain('<html');
    expect(fragment.text).toContain('<mark>');
    expect((await h.request().get('/search').expect(200)).text).not.toContain('role="status"');
  });
});

describe('search is rate limited', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite', { env: { RATE_LIMITS: 'on' } });
  });
  afterAll(() => h.close());

  it(`after ${RATE_LIMITS.search.limit} searches a minute the next is 429 (page and API share it); the plain list is not limited`, async () => {
    for (let i = 0; i < RATE_LIMITS.search.limit; i++) {
      await h.request().get(i % 2 ? '/search' : '/api/posts').query({ q: `word${i}` }).expect(200);
    }
    expect((await h.request().get('/search').query({ q: 'more' })).status).toBe(429);
    expect((await h.request().get('/api/posts').query({ q: 'more' })).status).toBe(429);
    await h.request().get('/api/posts').expect(200);
  });
});
