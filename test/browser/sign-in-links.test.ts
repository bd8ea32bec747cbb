// Sign-in links in real Chromium, with and without JavaScript: from the login page to "Email me a
// sign-in link", the email opened from the dev mailbox, its link, the button, signed in; a two-step
// account lands on /login/two-step instead.
import { copyFileSync, mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { SCREENSHOTS, WITHOUT_JS, WITH_JS, openSession, type Mode } from '../support/browser-session.ts';
import { registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { turnOnTwoStep } from '../two-step/support.ts';

const SUBJECT = 'Your Inkwell sign-in link';

describe.skipIf(!inject('browser'))('sign-in links in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  beforeAll(async () => {
    [h, browser] = await Promise.all([startHarness('sqlite', { listen: true, mailbox: true }), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });
  const linkEmails = () => h.mailer.mailbox?.filter((m) => m.subject === SUBJECT).length ?? 0;

  for (const mode of [WITH_JS, WITHOUT_JS] as Mode[]) {
    it(`request a link, open it from the email, press the button, signed in ${mode.name}`, { timeout: 240_000 }, async () => {
      const user = await registeredUser(h, `links-${mode.folder}`);
      const before = linkEmails();
      const b = await openSession(browser, mode, h.baseUrl);
      const { page } = b;
      await b.go('/login');
      await b.check('login-with-link');
      await page.getByRole('link', { name: 'Email me a sign-in link' }).click();
      await page.waitForURL(b.url('/login/email'));
      await b.check('login-email');
      const form = page.locator('#email-link-form');
      await form.getByLabel('Email').fill(user.email);
      expect((await b.submit(form, 'Email me a link', '/login/email')).status()).toBe(202);
      await page.getByText('we have sent it a sign-in link').waitFor();
      await b.check('login-email-sent');
      await expect.poll(linkEmails).toBe(before + 1);

      // The email, as the dev mailbox shows it; its link opens the confirmation page, which signs nobody in.
      await b.go('/dev/mailbox');
      await page.getByRole('link', { name: SUBJECT }).first().click();
      await page.waitForURL(/\/dev\/mailbox\/\d+$/);
      await b.check('sign-in-link-email');
      await page.getByRole('link', { name: 'Sign in to Inkwell' }).click();
      await page.waitForURL(b.url('/login/email/confirm'));
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toMatch(/^Sign in as l•+@example\.com\?$/);
      await b.check('sign-in-link-confirm');
      expect((await h.request().get('/api/users/me').set('Cookie', (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; '))).status).toBe(401);

      const pressed = await b.submit(page.locator('#email-link-confirm'), 'Sign in', '/login/email/confirm');
      expect(pressed.status()).toBe(303);
      await page.waitForURL(b.url('/account'));
      expect(await page.locator('body').textContent()).toContain(user.email);
      expect(b.problems.join('\n')).toBe('');
      await b.close();

      // The README's pictures are refreshed on request (UPDATE_SCREENSHOTS=1), so a test run leaves the tree clean.
      if (mode.javaScript && process.env.UPDATE_SCREENSHOTS) {
        mkdirSync('docs/screenshots', { recursive: true });
        copyFileSync(`${SCREENSHOTS}/js/login-with-link.png`, 'docs/screenshots/sign-in-link-login.png');
        copyFileSync(`${SCREENSHOTS}/js/sign-in-link-email.png`, 'docs/screenshots/sign-in-link-email.png');
        copyFileSync(`${SCREENSHOTS}/js/sign-in-link-confirm.png`, 'docs/screenshots/sign-in-link-confirm.png');
      }
    });
  }

  it('a two-step account lands on the second step after the button', { timeout: 240_000 }, async () => {
    const user = await registeredUser(h, 'links-two-step');
    await turnOnTwoStep(user.agent, user.password);
    const before = linkEmails();
    const b = await openSession(browser, WITHOUT_JS, h.baseUrl);
    await b.go('/login/email');
    const form = b.page.locator('#email-link-form');
    await form.getByLabel('Email').fill(user.email);
    await b.submit(form, 'Email me a link', '/login/email');
    await expect.poll(linkEmails).toBe(before + 1);
    await b.go('/dev/mailbox');
    await b.page.getByRole('link', { name: SUBJECT }).first().click();
    await b.page.getByRole('link', { name: 'Sign in to Inkwell' }).click();
    await b.page.waitForURL(b.url('/login/email/confirm'));
    await b.submit(b.page.locator('#email-link-confirm'), 'Sign in', '/login/email/confirm');
    await b.page.waitForURL(b.url('/login/two-step'));
    expect(await b.page.getByLabel('Code from your authenticator app').count()).toBe(1);
    await b.close();
  });
});
