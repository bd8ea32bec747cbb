// Profile pictures in real Chromium: choosing a file on the account page with JavaScript (htmx swaps
// the new picture in place) and without (a plain multipart form post), a refused file explained at
// the field, and the picture beside the name in a post's byline. Screenshots of both.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { launchChromium } from '../support/browser.ts';
import { WITHOUT_JS, WITH_JS, openSession, type Mode } from '../support/browser-session.ts';
import { SVG_WITH_SCRIPT, sidewaysJpeg } from '../support/images.ts';

describe.skipIf(!inject('browser'))('profile pictures in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  beforeAll(async () => {
    [h, browser] = await Promise.all([startHarness('sqlite', { listen: true }), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  for (const mode of [WITH_JS, WITHOUT_JS] as Mode[]) {
    it(`upload, refuse and show a picture ${mode.name}`, { timeout: 300_000 }, async () => {
      const user = await registeredUser(h, `face-${mode.folder}`);
      const b = await openSession(browser, mode, h.baseUrl);
      const [cookieName, value] = user.cookie.split('=');
      await b.page.context().addCookies([{ name: cookieName, value, url: h.baseUrl }]);
      const { page } = b;
      try {
        await b.go('/account');
        const section = page.locator('#picture');
        expect(await section.locator('.avatar.initials').textContent()).toBe('F');
        await b.check('account-picture-none');

        // An SVG with a script, named like a PNG: refused at the field, the page otherwise as it was.
        await b.markPage();
        await section.getByLabel('Choose a picture').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: SVG_WITH_SCRIPT });
        const refused = await b.submit(page.locator('#picture-form'), 'Upload picture', '/account/picture');
        expect(refused.status()).toBe(415);
        await b.expectFieldError(page.locator('#picture-form'), 'Choose a picture', /JPEG, PNG, WebP or GIF/);
        expect(await b.pageWasKept()).toBe(mode.javaScript);
        await b.check('account-picture-refused');

        await b.markPage();
        await page.locator('#picture').getByLabel('Choose a picture').setInputFiles({ name: 'phone.jpg', mimeType: 'image/jpeg', buffer: await sidewaysJpeg() });
        const stored = await b.submit(page.locator('#picture-form'), 'Upload picture', '/account/picture');
        if (mode.javaScript) {
          expect(stored.status()).toBe(200);
          expect(await b.pageWasKept()).toBe(true);
        } else {
          b.expectRedirect(stored, '/account?notice=picture_changed');
        }
        const img = page.locator('#picture img.avatar');
        await img.waitFor();
        // The browser decoded our WebP: the picture really shows.
        await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(300);
        await b.expectFocusOnMessage(/new picture is up/);
        expect(await img.getAttribute('src')).toBe((await user.agent.get('/api/users/me')).body.user.picture_url);
        await b.check('account-picture');

        const post = (await user.agent.post('/api/posts').send({ title: 'A face by the name', body: 'Hello from a real photo.' }).expect(201)).body.post;
        await b.go(`/posts/${post.id}`);
        const byline = page.locator('.byline img.avatar');
        await expect.poll(() => byline.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(300);
        await b.check('byline-with-picture');
      } finally {
        await b.close();
      }
    });
  }
});
