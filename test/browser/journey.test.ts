// The whole account journey in real Chromium: with JavaScript (htmx swaps in place) and without (plain forms).
import { rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { STRONG_PASSWORD, registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { startOtherSite, type OtherSite } from '../support/other-site.ts';
import { CONFIRM_SUBJECT, confirmationLinkIn, recipients, resetLinkIn } from '../support/smtp.ts';
import { focusRing, launchChromium, saveScreenshot } from '../support/browser.ts';
import { SCREENSHOTS, WITHOUT_JS, WITH_JS, openSession, type Mode } from '../support/browser-session.ts';

// In zxcvbn-ts's list of common passwords, so every password form refuses it with a 422.
const COMMON_PASSWORD = 'password123';
const RESET_PASSWORD = 'a brand new passphrase';
const CHANGED_PASSWORD = 'ink and quill forever';

const MODES: Mode[] = [WITH_JS, WITHOUT_JS];

describe.skipIf(!inject('browser'))('in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  let elsewhere: OtherSite;
  beforeAll(async () => {
    rmSync(SCREENSHOTS, { recursive: true, force: true });
    [h, browser, elsewhere] = await Promise.all([startHarness('sqlite', { listen: true }), launchChromium(), startOtherSite()]);
  });
  afterAll(async () => {
    await browser?.close();
    await elsewhere?.stop();
    await h?.close();
  });

  for (const mode of MODES) {
    it(`the whole account journey works ${mode.name}`, { timeout: 600_000 }, async () => {
      const b = await openSession(browser, mode, h.baseUrl);
      const { page } = b;
      const username = `ada-${mode.folder}`;
      const email = `${username}@example.com`;
      const header = page.locator('.site-header');

      // Register: a too-common password is refused inside the form, the rest of the input is kept.
      await b.go('/register');
      await b.check('01-register');
      let form = page.locator('#register-form');
      await form.getByLabel('Username').fill(username);
      await form.getByLabel('Email').fill(email);
      await form.getByLabel('Password', { exact: true }).fill(COMMON_PASSWORD);
      await b.markPage();
      let response = await b.submit(form, 'Create account', '/register');
      expect(response.status()).toBe(422);
      await b.expectFieldError(form, 'Password', /too common/);
      expect(await b.pageWasKept()).toBe(mode.javaScript);
      await b.expectFocusOnMessage(/correct the highlighted/);
      expect(await form.getByLabel('Username').inputValue()).toBe(username);
      expect(await form.getByLabel('Email').inputValue()).toBe(email);
      await b.check('02-register-error');

      // The same answer for every address: check your inbox. No account exists yet.
      await form.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
      await b.markPage();
      response = await b.submit(form, 'Create account', '/register');
      expect(response.status()).toBe(202);
      await page.locator('#register-form .message.success').waitFor();
      expect(await b.pageWasKept()).toBe(mode.javaScript);
      await b.expectFocusOnMessage(/Check your inbox/);
      expect(await header.textContent()).not.toContain('Signed in');
      await b.check('02a-register-sent');

      // The link from the confirmation email that actually arrived: its token leaves the address bar, a button finishes.
      const confirmation = await h.sink.waitFor((m) => recipients(m).includes(email) && m.subject === CONFIRM_SUBJECT);
      const confirmLink = confirmationLinkIn(confirmation);
      expect(confirmLink.startsWith(`${h.baseUrl}/register/confirm?token=`)).toBe(true);
      const opened = (await page.goto(confirmLink))!;
      expect(page.url()).toBe(b.url('/register/confirm'));
      const moved = await opened.request().redirectedFrom()!.response();
      expect(moved!.status()).toBe(303);
      for (const answer of [moved!, opened]) {
        expect(answer.headers()['referrer-policy']).toBe('no-referrer');
        expect(answer.headers()['cache-control']).toBe('no-store');
      }
      await expect(page.locator('#confirm-form strong').textContent()).resolves.toBe(username);
      await page.locator('#confirm-form').getByLabel('The password you chose when signing up').fill(STRONG_PASSWORD);
      await b.check('02b-register-confirm');
      response = await b.submit(page.locator('#confirm-form'), 'Create my account', '/register/confirm');
      b.expectRedirect(response, '/account');
      await page.waitForURL(b.url('/account'));
      expect(await header.textContent()).toContain(`Signed in as ${username}`);
      await b.check('03-account');

      // The link worked once; opened again it explains itself and offers to sign up again.
      expect((await page.goto(confirmLink))!.status()).toBe(400);
      expect(await page.locator('h1').textContent()).toBe('This link does not work');
      await b.check('03a-register-link-used');

      // Log out from the header: a plain form in both modes.
      response = await b.submit(header, 'Log out', '/logout');
      expect(response.status()).toBe(303);
      await page.waitForURL(b.url('/'));
      expect(await header.getByRole('link', { name: 'Log in' }).count()).toBe(1);
      await b.check('04-home');

      // Forgot password, reached from the login page.
      await header.getByRole('link', { name: 'Log in' }).click();
      await page.waitForURL(b.url('/login'));
      await b.check('05-login');
      await page.getByRole('link', { name: 'Forgot your password?' }).click();
      await page.waitForURL(b.url('/forgot-password'));
      await b.check('06-forgot-password');
      form = page.locator('#forgot-form');
      await form.getByLabel('Email').fill(email);
      await b.markPage();
      response = await b.submit(form, 'Send reset link', '/forgot-password');
      expect(response.status()).toBe(202);
      await page.locator('#forgot-form .message.success').waitFor();
      expect(await b.pageWasKept()).toBe(mode.javaScript);
      await b.expectFocusOnMessage(/we have sent it a link/);
      await b.check('07-forgot-password-sent');

      // The link from the email that actually arrived; it points at this server (APP_BASE_URL).
      const mail = await h.sink.waitFor((m) => recipients(m).includes(email) && m.subject === 'Reset your Inkwell password');
      const link = resetLinkIn(mail);
      expect(link.startsWith(`${h.baseUrl}/reset-password?token=`)).toBe(true);
      const landed = (await page.goto(link))!;
      // The token left the address bar before the page was shown: the link answered 303 to a clean address.
      expect(page.url()).toBe(b.url('/reset-password'));
      const redirect = await landed.request().redirectedFrom()!.response();
      expect(redirect!.status()).toBe(303);
      for (const answer of [redirect!, landed]) {
        expect(answer.headers()['referrer-policy']).toBe('no-referrer');
        expect(answer.headers()['cache-control']).toBe('no-store');
      }
      await b.check('08-reset-password');

      // Following a link from the reset page to another site sends no Referer.
      const away = elsewhere.url(`/from-reset-${mode.folder}`);
      await page.evaluate((href) => {
        const a = Object.assign(document.createElement('a'), { href, id: 'test-link-away', textContent: 'Elsewhere' });
        document.querySelector('main')!.append(a);
      }, away);
      await page.click('#test-link-away');
      await page.waitForURL(away);
      const seen = elsewhere.requests.find((r) => r.path === `/from-reset-${mode.folder}`)!;
      expect(seen.headers['sec-fetch-site']).toBe('cross-site');
      expect(seen.headers.referer).toBeUndefined();
      expect(await page.evaluate(() => document.referrer)).toBe('');
      // Back again: the history entry holds the clean address, never the token.
      await page.goBack();
      await page.waitForURL(b.url('/reset-password'));

      // Choose a new password: a common one is refused in the form (the link still works), then a good one.
      form = page.locator('#reset-form');
      await form.getByLabel('New password').fill(COMMON_PASSWORD);
      await b.markPage();
      response = await b.submit(form, 'Set new password', '/reset-password');
      expect(response.status()).toBe(422);
      await b.expectFieldError(form, 'New password', /too common/);
      expect(await b.pageWasKept()).toBe(mode.javaScript);
      await b.expectFocusOnMessage(/correct the highlighted/);
      expect(page.url()).toBe(b.url('/reset-password'));
      await b.check('09-reset-password-error');

      await form.getByLabel('New password').fill(RESET_PASSWORD);
      response = await b.submit(form, 'Set new password', '/reset-password');
      b.expectRedirect(response, '/login?notice=password_reset');
      await page.waitForURL(b.url('/login?notice=password_reset'));
      expect(await page.locator('#login-form .message.success').textContent()).toContain('Your password has been reset');
      await b.check('10-login-after-reset');

      // The link worked once; opened again it explains itself and offers a new one.
      expect((await page.goto(link))!.status()).toBe(400);
      expect(await page.locator('h1').textContent()).toBe('This link does not work');
      await b.check('11-reset-link-used');
      await b.go('/login');

      // Log in: the old password no longer works (401, one message in the form), the new one does.
      form = page.locator('#login-form');
      await form.getByLabel('Email').fill(email);
      await form.getByLabel('Password').fill(STRONG_PASSWORD);
      await b.markPage();
      response = await b.submit(form, 'Log in', '/login');
      expect(response.status()).toBe(401);
      await page.locator('#login-form .message.error').waitFor();
      expect(await page.locator('#login-form .message.error').textContent()).toContain('The email or password is not correct.');
      expect(await b.pageWasKept()).toBe(mode.javaScript);
      await b.expectFocusOnMessage(/not correct/);
      expect(await form.getByLabel('Email').inputValue()).toBe(email);
      await b.check('12-login-failed');

      await form.getByLabel('Password').fill(RESET_PASSWORD);
      response = await b.submit(form, 'Log in', '/login');
      b.expectRedirect(response, '/account');
      await page.waitForURL(b.url('/account'));

      // Change password on the account page: a common new password is refused in the form, then a good one.
      form = page.locator('#password-form');
      await form.getByLabel('Current password').fill(RESET_PASSWORD);
      await form.getByLabel('New password').fill(COMMON_PASSWORD);
      await b.markPage();
      response = await b.submit(form, 'Change password', '/account/password');
      expect(response.status()).toBe(422);
      await b.expectFieldError(form, 'New password', /too common/);
      expect(await b.pageWasKept()).toBe(mode.javaScript);
      await b.expectFocusOnMessage(/not changed/);
      await b.check('13-account-password-error');

      await form.getByLabel('Current password').fill(RESET_PASSWORD);
      await form.getByLabel('New password').fill(CHANGED_PASSWORD);
      await b.markPage();
      response = await b.submit(form, 'Change password', '/account/password');
      expect(response.status()).toBe(200);
      await page.locator('#password-form .message.success').waitFor();
      expect(await b.pageWasKept()).toBe(mode.javaScript);
      await b.expectFocusOnMessage(/has been changed/);
      await b.check('14-account-password-changed');

      response = await b.submit(header, 'Log out', '/logout');
      expect(response.status()).toBe(303);
      await page.waitForURL(b.url('/'));
      expect(await header.textContent()).not.toContain('Signed in');

      expect((await b.go('/no-such-page'))!.status()).toBe(404);
      await b.check('15-not-found');
      expect(b.problems.join('\n')).toBe('');
      await b.close();
    });
  }

  it('every control on the login page shows a focus ring when reached with Tab', async () => {
    const b = await openSession(browser, WITH_JS, h.baseUrl);
    await b.go('/login');
    const seen: string[] = [];
    for (let i = 0; i < 9; i++) {
      await b.page.keyboard.press('Tab');
      const ring = await focusRing(b.page);
      expect(ring.visible, `focus ring on ${ring.element}`).toBe(true);
      seen.push(ring.element);
      if (i === 0) await saveScreenshot(b.page, `${SCREENSHOTS}/js/focus-skip-link.png`);
      if (ring.element.startsWith('input#login-email')) await saveScreenshot(b.page, `${SCREENSHOTS}/js/focus-email.png`);
      if (ring.element.startsWith('button')) await saveScreenshot(b.page, `${SCREENSHOTS}/js/focus-submit.png`);
    }
    expect(seen.some((element) => element.startsWith('input#login-email'))).toBe(true);
    await b.close();
  });

  it('while a form is being sent its button is disabled and says what is happening', async () => {
    const b = await openSession(browser, WITH_JS, h.baseUrl);
    await b.go('/login');
    const form = b.page.locator('#login-form');
    await form.getByLabel('Email').fill('nobody@example.com');
    await form.getByLabel('Password').fill('not the password');
    let during: Record<string, boolean | string> | undefined;
    // Hold the request until the page has been looked at mid-flight.
    await b.page.route('**/login', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const button = form.getByRole('button');
      during = {
        sentByHtmx: route.request().headers()['hx-request'] === 'true',
        disabled: await button.isDisabled(),
        text: (await button.innerText()).trim(),
        // What assistive technology reads out, not only what is on screen.
        accessibleName: (await form.getByRole('button', { name: 'Logging in…', exact: true }).count()) === 1,
      };
      await saveScreenshot(b.page, `${SCREENSHOTS}/js/login-busy.png`);
      await route.continue();
    });
    const response = await b.submit(form, 'Log in', '/login');
    expect(response.status()).toBe(401);
    await b.page.locator('#login-form .message.error').waitFor();
    expect(during).toEqual({ sentByHtmx: true, disabled: true, text: 'Logging in…', accessibleName: true });
    const after = b.page.locator('#login-form button');
    expect(await after.isEnabled()).toBe(true);
    expect((await after.innerText()).trim()).toBe('Log in');
    expect(b.problems.join('\n')).toBe('');
    await b.close();
  });

  it('without an SMTP server the dev mailbox shows the reset email, and its link works', async () => {
    const dev = await startHarness('sqlite', { listen: true, mailbox: true });
    try {
      const grace = await registeredUser(dev, 'grace');
      const b = await openSession(browser, WITH_JS, dev.baseUrl);
      await b.go('/forgot-password');
      const form = b.page.locator('#forgot-form');
      await form.getByLabel('Email').fill(grace.email);
      expect((await b.submit(form, 'Send reset link', '/forgot-password')).status()).toBe(202);
      // Beside grace's sign-up confirmation: the reset email.
      await expect.poll(() => dev.mailer.mailbox?.filter((m) => m.subject === 'Reset your Inkwell password').length).toBe(1);

      await b.page.locator('.site-footer').getByRole('link', { name: 'Dev mailbox' }).click();
      await b.page.waitForURL(b.url('/dev/mailbox'));
      await b.check('dev-mailbox');
      await b.page.getByRole('link', { name: 'Reset your Inkwell password' }).click();
      await b.page.waitForURL(/\/dev\/mailbox\/\d+$/);
      await b.check('dev-mailbox-message');
      await b.page.getByRole('link', { name: 'Choose a new password' }).click();
      await b.page.waitForURL(b.url('/reset-password'));
      expect(await b.page.locator('#reset-form').getByLabel('New password').count()).toBe(1);
      expect(b.problems.join('\n')).toBe('');
      await b.close();
    } finally {
      await dev.close();
    }
  });
});
