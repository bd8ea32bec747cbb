// The blog in real Chromium: write, preview, publish, edit and delete with JavaScript (htmx) and
// without (plain forms); reading logged out; a post full of hostile Markdown runs nothing.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Post } from '../../src/db/entities.ts';
import { registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { launchChromium, saveScreenshot } from '../support/browser.ts';
import { SCREENSHOTS, WITHOUT_JS, WITH_JS, openSession, type Mode } from '../support/browser-session.ts';
import { BODY_PAYLOADS, TITLE_PAYLOADS } from '../posts/payloads.ts';

const MODES: Mode[] = [WITH_JS, WITHOUT_JS];

const SAMPLE_BODY = `Inkwell keeps the things a small blog needs and nothing else.

## What you can write

Posts are **Markdown**: _emphasis_, [links](https://example.com), lists and \`code\`.

- Headings start below the title, so a page has one \`h1\`.
- Links are marked \`nofollow ugc noopener\`.

> Raw HTML is shown as text, never run.
`;

describe.skipIf(!inject('browser'))('the blog in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  beforeAll(async () => {
    [h, browser] = await Promise.all([startHarness('sqlite', { listen: true }), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  /** A session logged in as a new user: the cookie from the API, as a browser would hold it. */
  async function loggedIn(mode: Mode, name: string) {
    const user = await registeredUser(h, name);
    const b = await openSession(browser, mode, h.baseUrl);
    const [cookieName, value] = user.cookie.split('=');
    await b.page.context().addCookies([{ name: cookieName, value, url: h.baseUrl }]);
    return { b, user };
  }

  /** Fails on any dialog: hostile content must never open one. */
  function refuseDialogs(page: Page, seen: string[]) {
    page.on('dialog', (dialog) => {
      seen.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss();
    });
  }

  for (const mode of MODES) {
    it(`write, preview, publish, edit and delete ${mode.name}`, { timeout: 300_000 }, async () => {
      const name = `writer-${mode.folder}`;
      const { b } = await loggedIn(mode, name);
      const { page } = b;

      await b.go('/');
      await page.locator('.site-header').getByRole('link', { name: 'Write' }).click();
      await page.waitForURL(b.url('/posts/new'));
      await b.check('posts-01-new');
      let form = page.locator('#post-form');

      // A title of spaces passes the browser's `required` but not the server: 422 inside the form.
      await form.getByLabel('Title').fill('   ');
      await form.getByLabel('Post', { exact: true }).fill('Kept while I fix the title.');
      await b.markPage();
      let response = await b.submit(form, 'Publish now', '/posts');
      expect(response.status()).toBe(422);
      await form.locator('#post-title-error').waitFor();
      await b.expectFieldError(form, 'Title', /Give the post a title/);
      expect(await b.pageWasKept()).toBe(mode.javaScript);
      await b.expectFocusOnMessage(/not saved/);
      expect(await form.getByLabel('Post', { exact: true }).inputValue()).toBe('Kept while I fix the title.');
      await b.check('posts-02-new-error');

      // Preview: with htmx swapped in under the form, without a whole page that keeps what was typed.
      await form.getByLabel('Title').fill('Notes from the inkwell');
      await form.getByLabel('Post', { exact: true }).fill(SAMPLE_BODY);
      await b.markPage();
      response = await b.submit(form, 'Preview', '/posts/preview');
      expect(response.status()).toBe(200);
      const preview = page.locator('#post-preview .post-body');
      await preview.locator('h3', { hasText: 'What you can write' }).waitFor();
      expect(await b.pageWasKept()).toBe(mode.javaScript);
      expect(await form.getByLabel('Title').inputValue()).toBe('Notes from the inkwell');
      expect(await preview.getByRole('link', { name: 'links' }).getAttribute('rel')).toBe('nofollow ugc noopener');
      await b.check('posts-03-preview');

      // A draft first: saved, marked, seen by nobody else.
      response = await b.submit(form, 'Save draft', '/posts');
      const location = mode.javaScript ? response.headers()['hx-redirect'] : response.headers()['location'];
      expect(location).toMatch(/^\/posts\/\d+-notes-from-the-inkwell$/);
      const edit = `${location.replace(/-[^/]*$/, '')}/edit`;
      b.expectRedirect(response, location);
      await page.waitForURL(b.url(location));
      await page.getByText('Draft: only you can see this post.').waitFor();
      await page.getByRole('link', { name: 'Edit' }).click();
      await page.waitForURL(b.url(edit));
      form = page.locator('#post-form');
      await form.getByText('This post is a draft').waitFor();
      await form.getByLabel(/Schedule for/).fill('2031-03-04T09:30');
      await b.check('posts-04-editor-draft-schedule');
      response = await b.submit(form, 'Publish now', edit);
      b.expectRedirect(response, location);
      await page.waitForURL(b.url(location));
      expect(await page.locator('h1').textContent()).toBe('Notes from the inkwell');
      expect(await page.locator('h1').count()).toBe(1);
      await page.locator('.reading-time', { hasText: 'min read' }).waitFor();
      await b.check('posts-04-published');
      // POST/redirect/GET: reloading the post's page asks for the page again; nothing is posted twice.
      const posted: string[] = [];
      page.on('request', (request) => void (request.method() === 'POST' && posted.push(request.url())));
      await page.reload();
      await page.waitForURL(b.url(location));
      expect(posted).toEqual([]);
      expect(await h.orm.em.fork().count(Post, { title: 'Notes from the inkwell' })).toBe(1);

      // Edit: the form comes back filled in; saving returns to the post.
      await page.getByRole('link', { name: 'Edit' }).click();
      await page.waitForURL(b.url(edit));
      form = page.locator('#post-form');
      expect(await form.getByLabel('Title').inputValue()).toBe('Notes from the inkwell');
      await b.check('posts-05-edit');
      await form.getByLabel('Title').fill('Notes from the inkwell, revised');
      response = await b.submit(form, 'Save changes', edit);
      b.expectRedirect(response, location);
      await page.waitForURL(b.url(location));
      expect(await page.locator('h1').textContent()).toBe('Notes from the inkwell, revised');

      // Logged out, anyone reads it from the feed and the author's page.
      const reader = await openSession(browser, mode, h.baseUrl);
      await reader.go('/');
      await reader.page.getByRole('link', { name: 'Notes from the inkwell, revised' }).click();
      await reader.page.waitForURL(reader.url(location));
      expect(await reader.page.getByRole('link', { name: 'Edit' }).count()).toBe(0);
      await reader.check('posts-06-read-logged-out');
      await reader.page.locator('.byline').getByRole('link', { name }).click();
      await reader.page.waitForURL(reader.url(`/users/${name}`));
      await reader.check('posts-07-author');
      expect(reader.problems.join('\n')).toBe('');
      await reader.close();

      // Delete: htmx asks first (hx-confirm); a plain form posts straight away.
      const dialogs: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.accept();
      });
      response = await b.submit(page.locator('.post-actions'), 'Delete', edit.replace(/edit$/, 'delete'));
      b.expectRedirect(response, '/');
      await page.waitForURL(b.url('/'));
      expect(dialogs).toEqual(mode.javaScript ? ['Delete this post? This cannot be undone.'] : []);
      expect((await b.go(location))!.status()).toBe(404);
      expect(b.problems.join('\n')).toBe('');
      await b.close();
    });
  }

  it('a post full of hostile Markdown opens no dialog, logs no error and breaks no CSP rule', { timeout: 120_000 }, async () => {
    const { b, user } = await loggedIn(WITH_JS, 'mallory');
    const dialogs: string[] = [];
    refuseDialogs(b.page, dialogs);
    const body = BODY_PAYLOADS.join('\n\n');
    const res = await user.agent.post('/api/posts').send({ title: TITLE_PAYLOADS.join(' '), body });
    expect(res.status).toBe(201);
    for (const title of TITLE_PAYLOADS) await user.agent.post('/api/posts').send({ title, body: 'x' }).expect(201);
    const id = res.body.post.id;

    for (const path of [`/posts/${id}-${res.body.post.slug}`, '/', '/users/mallory', `/posts/${id}/edit`]) {
      await b.go(path);
      await b.page.waitForLoadState('load');
      // Hover and focus everything a handler could hang on, and give timers a moment to fire.
      for (const el of await b.page.locator('main *').all()) await el.hover({ force: true, timeout: 1_000 }).catch(() => {});
      await b.page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 300)));
    }
    await b.check('posts-hostile-post');

    // The same Markdown through the preview, swapped in by htmx.
    await b.go(`/posts/${id}/edit`);
    const response = await b.submit(b.page.locator('#post-form'), 'Preview', '/posts/preview');
    expect(response.status()).toBe(200);
    await b.page.locator('#post-preview .post-body').waitFor();
    await b.page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 300)));
    await b.check('posts-hostile-preview');

    expect(dialogs).toEqual([]);
    expect(b.problems.join('\n')).toBe('');
    expect(await b.page.evaluate(() => document.querySelectorAll('script').length)).toBe(2);
    await b.close();
  });

  it('the feed and a post, for the README', { timeout: 120_000 }, async () => {
    // A blog of its own, without the other tests' hostile posts.
    const blog = await startHarness('sqlite', { listen: true });
    try {
      const [ada, grace] = [await registeredUser(blog, 'ada'), await registeredUser(blog, 'grace')];
      const write = (who: typeof ada, title: string, body: string) => who.agent.post('/api/posts').send({ title, body }).expect(201);
      await write(grace, 'Why I keep a paper notebook', 'Ink dries, and so do ideas: writing them down **by hand** slows me just enough to think.');
      await write(ada, 'Sessions you can see', 'Every device you are signed in on is a row in the database, so **log out everywhere** is one delete.');
      await write(grace, 'On small software', 'A blog needs a feed, a post page and an editor. Everything else is a choice, and most choices are *no*.');
      await write(ada, 'Password resets that cannot leak', 'A reset link works **once**, for an hour, and its token never rests in the database in the clear.');
      const post = await write(ada, 'Notes from the inkwell', SAMPLE_BODY);
      const reader = await openSession(browser, WITH_JS, blog.baseUrl);
      await reader.go('/');
      await saveScreenshot(reader.page, `${SCREENSHOTS}/readme/feed.png`);
      await reader.go(new URL(post.body.post.url).pathname);
      await reader.page.locator('.reading-time').waitFor();
      await saveScreenshot(reader.page, `${SCREENSHOTS}/readme/post.png`);
      // Search from the header (a plain GET form), then again on the page, where htmx swaps only the results.
      await reader.page.getByRole('searchbox', { name: 'Search posts' }).fill('database');
      await reader.page.getByRole('searchbox', { name: 'Search posts' }).press('Enter');
      await reader.page.waitForURL(reader.url('/search?q=database'));
      await reader.page.locator('.search-results mark').first().waitFor();
      await reader.page.getByLabel('Search the posts').fill('ink');
      await reader.page.getByRole('button', { name: 'Search' }).click();
      await reader.page.getByText(/posts? match(es)? “ink”/).waitFor();
      expect(await reader.page.locator('.search-results mark').count()).toBeGreaterThan(0);
      await saveScreenshot(reader.page, `${SCREENSHOTS}/readme/search.png`);
      expect(reader.problems.join('\n')).toBe('');
      await reader.close();
    } finally {
      await blog.close();
    }
  });
});
