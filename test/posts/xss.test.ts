// User content is inert everywhere it is shown: feed, post, author page, preview and the API's html.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { activeContent, h1Count } from '../support/inert.ts';
import { BODY_PAYLOADS, TITLE_PAYLOADS } from './payloads.ts';

describe('the inertness check itself', () => {
  it('flags scripts, handlers, dangerous links and unmarked links', () => {
    expect(activeContent('<p><script>alert(1)</script></p>')).toHaveLength(1);
    expect(activeContent('<p onclick="x()">a</p>')).toHaveLength(1);
    expect(activeContent('<a href="javascript:alert(1)" rel="nofollow ugc noopener">a</a>')).toHaveLength(1);
    expect(activeContent('<a href="https://example.com">a</a>')).toHaveLength(1);
    expect(activeContent('<img src="https://example.com/x.png">')).toHaveLength(1);
    expect(activeContent('<a href="https://example.com" rel="nofollow ugc noopener">a</a>')).toEqual([]);
    expect(h1Count('<h1>a</h1><div><h1>b</h1></div>')).toBe(2);
  });
});

describe.each(dialects())('a corpus of hostile posts on %s', (dialect) => {
  let h: Harness;
  let author: Awaited<ReturnType<typeof registeredUser>>;
  const ids: number[] = [];
  beforeAll(async () => {
    h = await startHarness(dialect);
    author = await registeredUser(h, 'mallory');
    for (const [i, body] of BODY_PAYLOADS.entries()) {
      // Titles are one line (control characters are refused), so a body's line breaks stay out of them.
      const title = i < TITLE_PAYLOADS.length ? TITLE_PAYLOADS[i] : `Payload ${i}: ${body.slice(0, 40).replace(/\s+/g, ' ')}`;
      const res = await author.agent.post('/api/posts').send({ title, body });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      ids.push(res.body.post.id);
    }
  });
  afterAll(() => h.close());

  const inert = (html: string, where: string) => {
    expect(activeContent(html).join('\n'), where).toBe('');
    expect(h1Count(html), `h1 count on ${where}`).toBeLessThanOrEqual(1);
  };

  it(`has at least 30 payloads (${BODY_PAYLOADS.length} bodies, ${TITLE_PAYLOADS.length} titles)`, () => {
    expect(BODY_PAYLOADS.length + TITLE_PAYLOADS.length).toBeGreaterThanOrEqual(30);
  });

  it('every page of the feed is inert, logged out and logged in', async () => {
    for (const agent of [h.request(), author.agent]) {
      let path: string | undefined = '/';
      let pages = 0;
      while (path) {
        const res: { text: string } = await agent.get(path).expect(200);
        inert(res.text, `feed ${path}`);
        pages++;
        path = /href="(\/\?before=\d+)"/.exec(res.text)?.[1];
      }
      expect(pages).toBe(Math.ceil(BODY_PAYLOADS.length / 10));
    }
  });

  it('every post page is inert, for readers and for its author (with edit and delete)', async () => {
    for (const id of ids) {
      inert((await h.request().get(`/posts/${id}`).redirects(1).expect(200)).text, `post ${id}`);
      const own = await author.agent.get(`/posts/${id}`).redirects(1).expect(200);
      expect(own.text).toContain(`action="/posts/${id}/delete"`);
      inert(own.text, `post ${id} seen by its author`);
    }
  });

  it("the author's pages and the edit pages are inert", async () => {
    let path: string | undefined = '/users/mallory';
    while (path) {
      const res: { text: string } = await h.request().get(path).expect(200);
      inert(res.text, path);
      path = /href="(\/users\/mallory\?before=\d+)"/.exec(res.text)?.[1];
    }
    for (const id of ids.slice(0, 10)) inert((await author.agent.get(`/posts/${id}/edit`).expect(200)).text, `edit ${id}`);
  });

  it('the preview is inert, as an htmx fragment and as a full page', async () => {
    for (const body of BODY_PAYLOADS) {
      const fragment = await author.agent.post('/posts/preview').set('HX-Request', 'true').type('form').send({ title: TITLE_PAYLOADS[0], body });
      expect(fragment.status).toBe(200);
      expect(fragment.text).not.toContain('<html');
      inert(fragment.text, `preview fragment of ${body}`);
      const page = await author.agent.post('/posts/preview').type('form').send({ title: TITLE_PAYLOADS[1], body });
      expect(page.status).toBe(200);
      inert(page.text, `preview page of ${body}`);
    }
  });

  it("the API's html is inert, and its fields are the text as written", async () => {
    for (const [i, id] of ids.entries()) {
      const res = await h.request().get(`/api/posts/${id}`).expect(200);
      expect(res.body.post.body).toBe(BODY_PAYLOADS[i]);
      inert(res.body.post.html, `API html of ${id}`);
    }
  });

  it('shows the hostile text as text: escaped markup, no template evaluation, no second h1', async () => {
    const script = await h.request().get(`/posts/${ids[0]}`).redirects(1).expect(200);
    expect(script.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const template = await h.request().get(`/posts/${ids[BODY_PAYLOADS.findIndex((b) => b.startsWith('{{'))]}`).redirects(1).expect(200);
    expect(template.text).toContain('{{ 7 * 7 }} {% raw %}nunjucks{% endraw %} ${7 * 7}');
    const heading = await h.request().get(`/posts/${ids.at(-1)}`).redirects(1).expect(200);
    expect(heading.text).toContain('<h2>A heading that would be a second h1</h2>');
    expect(heading.text).toContain('<h3>and an h2</h3>');
    expect(h1Count(heading.text)).toBe(1);
  });

  it('keeps good links, marked nofollow ugc noopener, and makes images into links', async () => {
    const res = await author.agent.post('/posts/preview').set('HX-Request', 'true').type('form')
      .send({ body: '[site](https://example.com/a) <mailto:a@example.com> https://example.org ![pic](https://example.com/p.png)' });
    expect(res.text).toContain('<a href="https://example.com/a" rel="nofollow ugc noopener">site</a>');
    expect(res.text).toContain('<a href="mailto:a@example.com" rel="nofollow ugc noopener">mailto:a@example.com</a>');
    expect(res.text).toContain('<a href="https://example.org" rel="nofollow ugc noopener">https://example.org</a>');
    expect(res.text).toContain('<a href="https://example.com/p.png" rel="nofollow ugc noopener">Image: pic</a>');
    expect(res.text).not.toContain('<img');
  });
});
