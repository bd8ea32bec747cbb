// The account page's changes in real Chromium, with and without JavaScript: a new email address
// confirmed from its inbox, "This wasn't me" from the old inbox, and deleting the account.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { WITHOUT_JS, WITH_JS, openSession, type Mode } from '../support/browser-session.ts';
import { registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { linkIn, recipients } from '../support/smtp.ts';

describe.skipIf(!inject('browser'))('the account page in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  beforeAll(async () => {
    [h, browser] = await Promise.all([startHarness('sqlite', { listen: true }), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });
  const inbox = (address: string, subject: RegExp) => h.sink.waitFor((m) => recipients(m).includes(address) && subject.test(m.subject ?? ''));

  for (const mode of [WITH_JS, WITHOUT_JS] as Mode[]) {
    it(`change the email, undo it from the old inbox, then delete the account ${mode.name}`, { timeout: 180_000 }, async () => {
      const user = await registeredUser(h, `moving-${mode.folder}`);
      const b = await openSession(browser, mode, h.baseUrl);
      const { page } = b;
      await b.go('/login');
      let form = page.locator('#login-form');
      await form.getByLabel('Email').fill(user.email);
      await form.getByLabel('Password').fill(user.password);
      await b.submit(form, 'Log in', '/login');
      await page.waitForURL(b.url('/account'));

      // A wrong password is refused inside the form; then the right one sends the link.
      const newEmail = `moved-${mode.folder}@example.com`;
      form = page.locator('#email-form');
      await form.getByLabel('New email address').fill(newEmail);
      await form.getByLabel('Current password').fill('not my password');
      await b.markPage();
      let response = await b.submit(form, 'Send confirmation link', '/account/email');
      expect(response.status()).toBe(422);
      await page.waitForLoadState('load');
      await b.expectFieldError(form, 'Current password', /not correct/);
      expect(await page.locator('#password-form .message').count()).toBe(0); // only the form that was sent says so
      expect(await b.pageWasKept()).toBe(mode.javaScript);
      await b.expectFocusOnMessage(/not changed/);
      await b.check('account-email-error');
      form = page.locator('#email-form');
      await form.getByLabel('Current password').fill(user.password);
      response = await b.submit(form, 'Send confirmation link', '/account/email');
      expect(response.status()).toBe(202);
      await page.locator('#email-form .message.success').waitFor();
      await b.expectFocusOnMessage(/Check the inbox of the new address/);
      await b.check('account-email-sent');

      // The link from the new inbox: out of the address bar, a button, then the new address.
      await page.goto(linkIn(await inbox(newEmail, /Confirm/), '/account/email/confirm'));
      expect(page.url()).toBe(b.url('/account/email/confirm'));
      await b.check('account-email-confirm');
      response = await b.submit(page.locator('#email-confirm-form'), 'Use this address', '/account/email/confirm');
      expect(response.status()).toBe(303);
      await page.waitForURL(b.url('/account?notice=email_changed'));
      expect(await page.locator('.profile').textContent()).toContain(newEmail);

      // The old inbox says "This wasn't me": every session ends and the address comes back.
      await page.goto(linkIn(await inbox(user.email, /address of your Inkwell account was changed/), '/account/secure'));
      expect(page.url()).toBe(b.url('/account/secure'));
      await b.check('account-secure');
      response = await b.submit(page.locator('#secure-form'), 'Secure my account', '/account/secure');
      expect(response.status()).toBe(303);
      await page.waitForURL(b.url('/login?notice=account_secured'));
      expect(await page.locator('#login-form .message.success').textContent()).toContain('Your account is secured');
      await b.check('login-account-secured');

      // Back in, and out for good.
      form = page.locator('#login-form');
      await form.getByLabel('Email').fill(user.email);
      await form.getByLabel('Password').fill(user.password);
      await b.submit(form, 'Log in', '/login');
      await page.waitForURL(b.url('/account'));
      if (mode.javaScript) page.once('dialog', (dialog) => void dialog.accept());
      form = page.locator('#delete-form');
      await form.getByLabel('Current password').fill(user.password);
      response = await b.submit(form, 'Delete my account', '/account/delete');
      b.expectRedirect(response, '/');
      await page.waitForURL(b.url('/'));
      expect(await page.locator('.site-header').textContent()).not.toContain('Signed in');
      expect(b.problems.join('\n')).toBe('');
      await b.close();
    });
  }
});
