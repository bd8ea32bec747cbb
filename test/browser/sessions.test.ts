// Sessions and activity on the account page, in real Chromium with and without JavaScript.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { WITHOUT_JS, WITH_JS, openSession, type Mode } from '../support/browser-session.ts';
import { registeredUser, startHarness, type Harness } from '../support/harness.ts';

describe.skipIf(!inject('browser'))('sessions in Chromium', () => {
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
    it(`one device signs another out from the account page ${mode.name}`, { timeout: 120_000 }, async () => {
      const user = await registeredUser(h, `devices-${mode.folder}`);
      const laptop = await openSession(browser, mode, h.baseUrl);
      const phone = await openSession(browser, mode, h.baseUrl);
      for (const b of [laptop, phone]) {
        await b.go('/login');
        const form = b.page.locator('#login-form');
        await form.getByLabel('Email').fill(user.email);
        await form.getByLabel('Password').fill(user.password);
        await b.submit(form, 'Log in', '/login');
        await b.page.waitForURL(b.url('/account'));
      }

      await laptop.go('/account'); // now that the phone has signed in too
      const sessions = laptop.page.locator('#sessions');
      // The API's session (from registering) and the two browsers; this one marked, the others with a button.
      expect(await sessions.locator('li.session').count()).toBe(3);
      expect(await sessions.locator('li.session', { hasText: 'This device' }).count()).toBe(1);
      expect(await sessions.getByRole('button', { name: /^Sign out Chrome on Linux/ }).count()).toBe(1);
      expect(await laptop.page.locator('#activity').textContent()).toContain('Signed in from Chrome on Linux, 127.0.0.x');
      await laptop.check('account-sessions');

      await laptop.markPage();
      const response = await laptop.submit(sessions, 'Sign out everywhere else', '/account/sessions/revoke-others');
      expect(response.status()).toBe(mode.javaScript ? 200 : 303);
      await expect.poll(() => laptop.page.locator('#sessions li.session').count(), { timeout: 10_000 }).toBe(1);
      expect(await laptop.pageWasKept()).toBe(mode.javaScript);
      if (mode.javaScript) await laptop.expectFocusOnMessage(/Every other session has been signed out/);
      await laptop.check('account-sessions-signed-out');

      // The phone's next request finds itself logged out.
      await phone.go('/account');
      await phone.page.waitForURL(/\/login\?next=/);
      expect(laptop.problems.join('\n')).toBe('');
      expect(phone.problems.join('\n')).toBe('');
      await laptop.close();
      await phone.close();
    });
  }
});
