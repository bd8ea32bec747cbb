// Two-step verification in real Chromium, with and without JavaScript: setting it up from the page
// (the key read off the page, codes computed as an app would), the recovery codes shown once, then
// signing in with a code, with a recovery code, and a reset that asks for a code.
import { copyFileSync, mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { SCREENSHOTS, WITHOUT_JS, WITH_JS, openSession, type Mode } from '../support/browser-session.ts';
import { registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { linkIn, recipients } from '../support/smtp.ts';
import { codeFor } from '../two-step/support.ts';

describe.skipIf(!inject('browser'))('two-step verification in Chromium', () => {
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
    it(`set up, sign in with a code and with a recovery code, reset with a code ${mode.name}`, { timeout: 240_000 }, async () => {
      const user = await registeredUser(h, `twostep-${mode.folder}`);
      const logIn = async (b: Awaited<ReturnType<typeof openSession>>) => {
        await b.go('/login');
        const form = b.page.locator('#login-form');
        await form.getByLabel('Email').fill(user.email);
        await form.getByLabel('Password').fill(user.password);
        await b.submit(form, 'Log in', '/login');
      };

      // ── Setup, from the account page.
      let b = await openSession(browser, mode, h.baseUrl);
      let { page } = b;
      await logIn(b);
      await page.waitForURL(b.url('/account'));
      await page.getByRole('link', { name: 'Manage two-step verification and passkeys' }).click();
      await page.waitForURL(b.url('/account/security'));
      await b.check('security-off');
      let card = page.locator('#two-step-card');
      // Just signed in with the password: that counts as "confirm it's you", so no password is asked.
      if (await card.getByLabel('Current password').count()) await card.getByLabel('Current password').fill(user.password);
      await b.markPage();
      expect((await b.submit(card, 'Set up two-step verification', '/account/security/two-step')).status()).toBe(200);
      await page.locator('#two-step-key').waitFor();
      expect(await b.pageWasKept()).toBe(mode.javaScript);
      expect(await page.locator('.qr svg').count()).toBe(1);
      await b.check('security-setup');
      const key = (await page.locator('#two-step-key').textContent())!.replace(/\s/g, '');
      // The step before now (±1 is accepted): later steps stay free for the sign-in and the reset below.
      card = page.locator('#two-step-card');
      await card.getByLabel('Enter the 6-digit code the app shows').fill(codeFor(key, -1));
      expect((await b.submit(card, 'Turn on', '/account/security/two-step/confirm')).status()).toBe(200);
      await page.locator('#recovery-codes').waitFor();
      const codes = (await page.locator('#recovery-codes li').allTextContents()).map((c) => c.trim());
      expect(codes).toHaveLength(10);
      // Copy and Print need script; the download link works either way.
      expect(await page.getByRole('button', { name: 'Copy' }).isVisible()).toBe(mode.javaScript);
      expect(await page.getByRole('link', { name: 'Download' }).getAttribute('href')).toMatch(/^data:text\/plain/);
      await b.check('security-recovery-codes');
      await page.getByRole('link', { name: 'I have saved my codes' }).click();
      await page.waitForURL(b.url('/account/security'));
      expect(await page.locator('#two-step-card').textContent()).toContain('10 recovery codes left');
      expect(b.problems.join('\n')).toBe('');
      await b.close();

      // ── Signing in with a code.
      b = await openSession(browser, mode, h.baseUrl);
      ({ page } = b);
      await logIn(b);
      await page.waitForURL(b.url('/login/two-step'));
      await b.check('login-two-step');
      let form = page.locator('#two-step-form form').first();
      await form.getByLabel('Code from your authenticator app').fill(codeFor(key));
      await b.submit(form, 'Verify', '/login/two-step');
      await page.waitForURL(b.url('/account'));
      expect(b.problems.join('\n')).toBe('');
      await b.close();

      // ── Signing in with a recovery code.
      b = await openSession(browser, mode, h.baseUrl);
      ({ page } = b);
      await logIn(b);
      await page.waitForURL(b.url('/login/two-step'));
      await page.getByText('Use a recovery code').click();
      form = page.locator('#two-step-form details form');
      await form.getByLabel('Recovery code').fill(codes[0]);
      await b.submit(form, 'Use recovery code', '/login/two-step');
      await page.waitForURL((url) => url.pathname === '/account');
      expect(await page.locator('body').textContent()).toMatch(/9 .*left|left.*9/s);
      expect(b.problems.join('\n')).toBe('');
      await b.close();

      // ── A reset asks for a code, and two-step stays on.
      await h.request().post('/api/users/forgot-password').send({ email: user.email }).expect(202);
      b = await openSession(browser, mode, h.baseUrl);
      ({ page } = b);
      await page.goto(linkIn(await inbox(user.email, /Reset/), '/reset-password'));
      form = page.locator('#reset-form');
      await form.getByLabel('New password').fill('a whole new passphrase');
      await form.getByLabel('Code from your authenticator app').fill(codeFor(key, 1));
      await b.check('reset-two-step');
      await b.submit(form, 'Set new password', '/reset-password');
      await page.waitForURL(b.url('/login?notice=password_reset'));
      expect(b.problems.join('\n')).toBe('');
      await b.close();
      const login = await h.request().post('/api/auth/login').send({ email: user.email, password: 'a whole new passphrase' }).expect(200);
      expect(login.body.second_step).toBeDefined();

      // The README's pictures are refreshed on request (UPDATE_SCREENSHOTS=1), so a test run leaves the tree clean.
      if (mode.javaScript && process.env.UPDATE_SCREENSHOTS) {
        mkdirSync('docs/screenshots', { recursive: true });
        copyFileSync(`${SCREENSHOTS}/js/security-setup.png`, 'docs/screenshots/two-step-setup.png');
        copyFileSync(`${SCREENSHOTS}/js/security-recovery-codes.png`, 'docs/screenshots/two-step-recovery-codes.png');
      }
    });
  }
});
