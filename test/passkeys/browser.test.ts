// Passkeys end to end in real Chromium with the DevTools virtual authenticator, on both databases:
// add one, sign in with it (autofill and the button), remove it, and the refusals.
// The app runs at http://localhost:<port> (Chromium refuses 127.0.0.1 as an rpID) with APP_BASE_URL to match.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Passkey, Session } from '../../src/db/entities.ts';
import { launchChromium } from '../support/browser.ts';
import { WITHOUT_JS, openSession } from '../support/browser-session.ts';
import { dialects, mailArriving, mailSeen, registeredUser, requestResetToken, startHarness, type Harness } from '../support/harness.ts';
import { linkIn, tokenOf } from '../support/smtp.ts';
import { codeFor, turnOnTwoStep } from '../two-step/support.ts';
import { addPasskey, disarmAutofillOnce, logInWithPassword, logOut, passkeyBrowser, watchPasskeySignIns, type PasskeyBrowser } from './support.ts';

const ADDED = 'A passkey was added to your Inkwell account';

/** Ends the user's "confirm it's you" window in their sessions' stored data, as 10 minutes passing would. */
async function endConfirmation(h: Harness, userId: number): Promise<void> {
  const em = h.orm.em.fork();
  for (const row of await em.find(Session, { user: userId })) {
    const data = JSON.parse(row.data);
    await em.nativeUpdate(Session, { sidHash: row.sidHash }, { data: JSON.stringify({ ...data, confirmedUntil: 0 }) });
  }
}
const REMOVED = 'A passkey was removed from your Inkwell account';

/** Runs an authentication ceremony with these options in the browser's authenticator (on one of the app's pages). */
async function assertionFor(b: PasskeyBrowser, options: Record<string, unknown>): Promise<unknown> {
  await b.go('/forgot-password');
  await b.page.addScriptTag({ url: b.url('/static/simplewebauthn-browser.js') });
  return b.page.evaluate((o) => (window as any).SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: o }), options);
}
const CLONED = 'A copy of one of your Inkwell passkeys may exist';

describe.skipIf(!inject('browser'))('passkeys in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  describe.each(dialects())('on %s', (dialect) => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness(dialect, { listen: true, localhost: true });
    });
    afterAll(() => h?.close());

    it('adds a passkey, signs in with autofill and with the button, removes it, and is refused after', { timeout: 180_000 }, async () => {
      const user = await registeredUser(h, `pk-${dialect}`);
      const b = await passkeyBrowser(browser, h.baseUrl);
      const answers = watchPasskeySignIns(b.page);
      await logInWithPassword(b, user.email, user.password);

      let seen = mailSeen(h);
      await addPasskey(b, user.password);
      const card = b.page.locator('#passkeys');
      expect(await card.locator('li.session').count()).toBe(1);
      expect(await card.locator('li.session strong').textContent()).toBe('Passkey on Chrome on Linux');
      expect(await card.textContent()).toContain('never used');
      const added = await mailArriving(h, seen, (m) => m.subject === ADDED && m.to.includes(user.email));
      expect(added.text).toContain('/account/secure?token=');
      await b.check('passkeys-card');
      const [credential] = await b.credentials();
      expect(credential.isResidentCredential).toBe(true);
      // The user handle the authenticator keeps is random: neither the id nor the email.
      const handle = Buffer.from(credential.userHandle, 'base64').toString('base64url');
      expect(handle).toHaveLength(43);
      expect(Buffer.from(credential.userHandle, 'base64').toString()).not.toContain(user.email);
      const api = await b.page.request.get(b.url('/api/users/me/passkeys'));
      const listed = (await api.json()).passkeys;
      expect(listed).toEqual([{ id: expect.any(Number), name: 'Passkey on Chrome on Linux', created_at: expect.any(String), last_used_at: null, backed_up: false }]);

      // Autofill: on /login, conditional mediation offers the passkey; the virtual authenticator picks it at once.
      await logOut(b);
      await b.go('/login');
      await b.page.waitForURL(b.url('/account'));
      await expect.poll(() => answers.at(-1)).toEqual({ status: 200 });

      // The button (the autofill left unarmed this time).
      await logOut(b);
      await disarmAutofillOnce(b.page);
      await b.go('/login');
      await b.check('login-with-passkey-button');
      await b.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await b.page.waitForURL(b.url('/account'));
      await expect.poll(() => answers.at(-1)).toEqual({ status: 200 });
      expect((await b.page.request.get(b.url('/api/users/me/passkeys')).then((r) => r.json())).passkeys[0].last_used_at).not.toBeNull();

      // Confirm it's you with the passkey, once the sign-in's confirmation has run out (moved back here).
      await endConfirmation(h, user.id);
      await b.go('/account/security');
      expect(await card.getByLabel('Current password').count()).toBeGreaterThan(0);
      await card.getByRole('button', { name: "Confirm it's you with a passkey" }).click();
      await b.page.waitForURL(/notice=confirmed/);
      expect(await card.getByLabel('Current password').count()).toBe(0);
      // One confirmation for the whole page: the two-step card asks for no password either.
      const twoStepCard = b.page.locator('#two-step-card');
      expect(await twoStepCard.getByRole('button', { name: 'Set up two-step verification' }).count()).toBe(1);
      expect(await twoStepCard.getByLabel('Current password').count()).toBe(0);

      // /account/confirm offers the passkey too, and goes on to `next`.
      await endConfirmation(h, user.id);
      await b.go('/account/confirm?next=/account/security');
      await b.page.getByRole('button', { name: "Confirm it's you with a passkey" }).click();
      await b.page.waitForURL(b.url('/account/security'));
      expect(await twoStepCard.getByLabel('Current password').count()).toBe(0);

      // Removing it: confirmed a moment ago, so no password is asked.
      const [held] = await b.credentials();
      seen = mailSeen(h);
      await b.go('/account/security');
      await card.getByText('Rename or remove').click();
      await card.getByRole('button', { name: /^Remove/ }).click();
      await b.page.waitForURL(/notice=passkey_removed/);
      expect(await card.textContent()).toContain('You have no passkeys yet.');
      await mailArriving(h, seen, (m) => m.subject === REMOVED && m.to.includes(user.email));
      // The page told the browser which passkeys the account still accepts (none): the authenticator let it go.
      await expect.poll(async () => (await b.credentials()).length).toBe(0);

      // A device that missed that signal still offers it: it signs in no more, and is told to forget it.
      await b.cdp.send('WebAuthn.addCredential', { authenticatorId: b.authenticatorId, credential: held });
      await logOut(b);
      await b.go('/login');
      await expect.poll(() => answers.at(-1)).toEqual({ status: 401, code: 'unknown_passkey' });
      await expect.poll(() => b.page.locator('[data-passkey-message]').textContent()).toContain('not on any Inkwell account');
      await expect.poll(async () => (await b.credentials()).length).toBe(0);
      expect(new URL(b.page.url()).pathname).toBe('/login');
      expect(b.problems.join('\n')).toBe('');
      await b.close();
    });

    it('refuses an assertion without user verification, a bogus signature, a replay, a counter going backwards, another user\'s handle and another origin', { timeout: 180_000 }, async () => {
      const user = await registeredUser(h, `neg-${dialect}`);
      const b = await passkeyBrowser(browser, h.baseUrl);
      const answers = watchPasskeySignIns(b.page);
      await logInWithPassword(b, user.email, user.password);
      await addPasskey(b, user.password);
      await logOut(b);

      const refusedOnLogin = async (code: string) => {
        const before = answers.length;
        await b.go('/login');
        await expect.poll(() => answers.length).toBeGreaterThan(before);
        expect(answers.at(-1)).toEqual({ status: 401, code });
        expect(new URL(b.page.url()).pathname).toBe('/login');
      };
      await b.override({ isBadUV: true });
      await refusedOnLogin('invalid_passkey');
      await b.override({ isBogusSignature: true });
      await refusedOnLogin('invalid_passkey');
      await b.override({});

      // A replay: the very body of a good sign-in, sent again, finds its challenge used.
      let body = '';
      b.page.on('request', (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/auth/passkey') body = request.postData() ?? '';
      });
      await b.go('/login');
      await b.page.waitForURL(b.url('/account'));
      const replayed = await b.page.request.post(b.url('/api/auth/passkey'), { data: JSON.parse(body) });
      expect(replayed.status()).toBe(400);
      expect((await replayed.json()).error.code).toBe('passkey_challenge_expired');
      await logOut(b);

      // A counter lower than the one stored: refused, logged, and the owner emailed (a cloned key?).
      const seen = mailSeen(h);
      await h.orm.em.fork().nativeUpdate(Passkey, { user: user.id }, { counter: 1_000 });
      await refusedOnLogin('invalid_passkey');
      await mailArriving(h, seen, (m) => m.subject === CLONED && m.to.includes(user.email));
      expect(h.logs.some((line) => line.includes('its signature counter went backwards'))).toBe(true);
      await h.orm.em.fork().nativeUpdate(Passkey, { user: user.id }, { counter: 0 });

      // Another user's passkey naming this user's handle: the credential must belong to the handle returned.
      const other = await registeredUser(h, `other-${dialect}`);
      const o = await passkeyBrowser(browser, h.baseUrl);
      const otherAnswers = watchPasskeySignIns(o.page);
      await logInWithPassword(o, other.email, other.password);
      await addPasskey(o, other.password);
      await logOut(o);
      const victimHandle = Buffer.from((await b.credentials())[0].userHandle, 'base64').toString('base64url');
      await o.page.route('**/api/auth/passkey', async (route) => {
        const sent = JSON.parse(route.request().postData()!);
        sent.response.response.userHandle = victimHandle;
        await route.continue({ postData: JSON.stringify(sent) });
      });
      await o.go('/login');
      await expect.poll(() => otherAnswers.at(-1)).toEqual({ status: 401, code: 'invalid_passkey' });
      expect(new URL(o.page.url()).pathname).toBe('/login');
      await o.close();

      // Another origin (same host, another port): the rpID matches, the origin does not.
      const elsewhere = await startHarness(dialect, { listen: true, localhost: true });
      try {
        await b.page.goto(elsewhere.baseUrl + '/register');
        await b.page.addScriptTag({ url: elsewhere.baseUrl + '/static/simplewebauthn-browser.js' });
        const options = await (await b.page.request.post(b.url('/api/auth/passkey/options'))).json();
        const response = await b.page.evaluate((o) => (window as any).SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: o }), options);
        const answer = await b.page.request.post(b.url('/api/auth/passkey'), { data: { response } });
        expect(answer.status()).toBe(401);
        expect((await answer.json()).error.code).toBe('invalid_passkey');
      } finally {
        await elsewhere.close();
      }
      expect((await b.page.request.get(b.url('/api/users/me'))).status()).toBe(401);
      expect(b.problems.join('\n')).toBe('');
      await b.close();
    });

    it("\"This wasn't me\" in a passkey email removes the passkeys added since, and the reset email lists the ones left", { timeout: 180_000 }, async () => {
      const user = await registeredUser(h, `owner-${dialect}`);
      const owner = await passkeyBrowser(browser, h.baseUrl);
      await logInWithPassword(owner, user.email, user.password);
      await addPasskey(owner, user.password, "Owner's laptop");
      await owner.close();

      // Someone with the password signs in elsewhere and adds a passkey of their own.
      const intruder = await passkeyBrowser(browser, h.baseUrl);
      const seen = mailSeen(h);
      await disarmAutofillOnce(intruder.page);
      await logInWithPassword(intruder, user.email, user.password);
      await addPasskey(intruder, user.password, 'Intruder key');
      const notice = await mailArriving(h, seen, (m) => m.subject === ADDED && m.text.includes('Intruder key'));

      const secured = await h.request().post('/account/secure').type('form').send({ token: tokenOf(linkIn(notice as never, '/account/secure')) });
      expect(secured.status).toBe(303);
      const names = (await h.orm.em.fork().find(Passkey, { user: user.id })).map((p) => p.name);
      expect(names).toEqual(["Owner's laptop"]);
      const reset = await mailArriving(h, seen, (m) => m.subject === 'Reset your Inkwell password' && m.to.includes(user.email));
      expect(reset.text).toContain("Owner's laptop");
      expect(reset.text).not.toContain('Intruder key');
      // The intruder's session ended with every other, and its passkey signs in no more.
      await intruder.go('/login');
      await expect.poll(() => intruder.page.locator('[data-passkey-message]').textContent()).toContain('not on any Inkwell account');
      await intruder.close();
    });

    it('without JavaScript the card lists, renames and removes passkeys (with the password), and nothing asks for WebAuthn', { timeout: 180_000 }, async () => {
      const user = await registeredUser(h, `nojs-${dialect}`);
      // A passkey as a synced one from Google Password Manager would be stored (this browser cannot make one).
      await h.orm.em.fork().insert(Passkey, {
        user: user.id, credentialId: `nojs-${dialect}`, publicKey: 'AAAA', counter: 0, transports: 'hybrid,internal', deviceType: 'multiDevice',
        backedUp: true, aaguid: 'ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4', name: 'Google Password Manager', createdAt: new Date(), lastUsedAt: null,
      });
      const b = await openSession(browser, WITHOUT_JS, h.baseUrl);
      await b.go('/login');
      expect(await b.page.getByRole('button', { name: 'Sign in with a passkey' }).isVisible()).toBe(false);
      const form = b.page.locator('#login-form');
      await form.getByLabel('Email').fill(user.email);
      await form.getByLabel('Password').fill(user.password);
      await b.submit(form, 'Log in', '/login');
      await b.page.waitForURL(b.url('/account'));
      await endConfirmation(h, user.id);

      await b.go('/account/security');
      const card = b.page.locator('#passkeys');
      expect(await card.locator('li.session strong').textContent()).toBe('Google Password Manager');
      expect(await card.textContent()).toContain('Synced');
      expect(await card.getByRole('button', { name: 'Add a passkey' }).isVisible()).toBe(false);
      await b.check('passkeys-card-no-js');

      await card.getByText('Rename or remove').click();
      const rename = card.locator('form[action$="/name"]');
      await rename.getByLabel('Name').fill('Phone');
      await b.submit(rename, 'Rename', (await rename.getAttribute('action'))!);
      await b.page.waitForURL(/notice=passkey_renamed/);
      expect(await card.locator('li.session strong').textContent()).toBe('Phone');

      await card.getByText('Rename or remove').click();
      const remove = card.locator('form[action$="/remove"]');
      await remove.getByLabel('Current password').fill('not my password');
      const wrong = await b.submit(remove, 'Remove Phone', (await remove.getAttribute('action'))!);
      expect(wrong.status()).toBe(422);
      await b.expectFieldError(b.page.locator('#passkeys form[action$="/remove"]'), 'Current password', /not correct/);
      await b.page.locator('#passkeys form[action$="/remove"]').getByLabel('Current password').fill(user.password);
      await b.page.locator('#passkeys form[action$="/remove"]').getByRole('button', { name: 'Remove Phone' }).click();
      await b.page.waitForURL(/notice=passkey_removed/);
      expect(await card.textContent()).toContain('You have no passkeys yet.');
      expect(b.problems.join('\n')).toBe('');
      await b.close();
    });

    it('a two-step account signs in with its passkey without a code, and finishes a password sign-in with it', { timeout: 180_000 }, async () => {
      const user = await registeredUser(h, `two-${dialect}`);
      const { secret } = await turnOnTwoStep(user.agent, user.password);
      const b = await passkeyBrowser(browser, h.baseUrl);
      const answers = watchPasskeySignIns(b.page);
      await logInWithPassword(b, user.email, user.password, '/login/two-step');
      const codeForm = b.page.locator('#two-step-form form').first();
      await codeForm.getByLabel('Code from your authenticator app').fill(codeFor(secret, 1));
      await b.submit(codeForm, 'Verify', '/login/two-step');
      await b.page.waitForURL(b.url('/account'));
      await addPasskey(b); // the code sign-in just confirmed it's us
      await logOut(b);

      // A user-verified passkey is two factors: no code asked.
      await b.go('/login');
      await b.page.waitForURL(b.url('/account'));
      await logOut(b);

      // The password first, then the passkey as the second step on /login/two-step.
      await disarmAutofillOnce(b.page);
      await logInWithPassword(b, user.email, user.password, '/login/two-step');
      expect((await b.page.request.get(b.url('/api/users/me'))).status()).toBe(401);
      // A wrong code first: the page that says so still offers the passkey.
      const codeAgain = b.page.locator('#two-step-form form').first();
      const right = [codeFor(secret, -1), codeFor(secret), codeFor(secret, 1)];
      await codeAgain.getByLabel('Code from your authenticator app').fill(right.includes('000000') ? '111111' : '000000');
      const wrong = await b.submit(codeAgain, 'Verify', '/login/two-step');
      expect(wrong.status()).toBe(401);
      await b.page.locator('#two-step-form').getByText('That code is not right').waitFor();
      await b.check('two-step-with-passkey');
      await b.page.getByRole('button', { name: 'Use a passkey instead' }).click();
      await b.page.waitForURL(b.url('/account'));
      await expect.poll(() => answers.at(-1)).toEqual({ status: 200 });
      expect((await b.page.request.get(b.url('/api/users/me'))).status()).toBe(200);
      expect(b.problems.join('\n')).toBe('');
      await b.close();
    });

    it("a two-step account resets its password with its passkey; another user's passkey or one without user verification is refused and the link still works", { timeout: 180_000 }, async () => {
      const user = await registeredUser(h, `reset-${dialect}`);
      const { secret } = await turnOnTwoStep(user.agent, user.password);
      const b = await passkeyBrowser(browser, h.baseUrl);
      await logInWithPassword(b, user.email, user.password, '/login/two-step');
      const codeForm = b.page.locator('#two-step-form form').first();
      await codeForm.getByLabel('Code from your authenticator app').fill(codeFor(secret, 1));
      await b.submit(codeForm, 'Verify', '/login/two-step');
      await b.page.waitForURL(b.url('/account'));
      await addPasskey(b);
      await logOut(b);
      const other = await registeredUser(h, `reset-other-${dialect}`);
      const o = await passkeyBrowser(browser, h.baseUrl);
      await logInWithPassword(o, other.email, other.password);
      await addPasskey(o, other.password);
      await logOut(o);

      const token = await requestResetToken(h, user.email);
      const newPassword = 'reset with a passkey, not a code';
      const reset = (p: PasskeyBrowser, passkey: unknown) =>
        p.page.request.post(p.url('/api/users/reset-password'), { data: { token, new_password: newPassword, passkey } });
      const optionsIn = async (p: PasskeyBrowser) => {
        const answer = await p.page.request.post(p.url('/api/users/reset-password/passkey/options'), { data: { token } });
        expect(answer.status()).toBe(200);
        return answer.json();
      };

      // The options list the link owner's passkeys, user verification required.
      const options = await optionsIn(o);
      expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
      const [own] = await b.credentials();
      expect(options.allowCredentials.map((c: { id: string }) => c.id)).toEqual([Buffer.from(own.credentialId, 'base64').toString('base64url')]);
      // Another user's passkey (their own discoverable credential, the list dropped): refused.
      const foreign = await reset(o, await assertionFor(o, { ...options, allowCredentials: undefined }));
      expect(foreign.status()).toBe(401);
      expect((await foreign.json()).error.code).toBe('invalid_passkey');
      await o.close();

      // The owner's passkey without user verification: refused; its challenge is gone with that answer.
      await b.override({ isBadUV: true });
      const unverified = await assertionFor(b, await optionsIn(b));
      await b.override({});
      const noUv = await reset(b, unverified);
      expect(noUv.status()).toBe(401);
      expect((await noUv.json()).error.code).toBe('invalid_passkey');
      const again = await reset(b, unverified);
      expect(again.status()).toBe(400);
      expect((await again.json()).error.code).toBe('passkey_challenge_expired');
      // Without any factor the link is not used either.
      expect((await (await reset(b, undefined)).json()).error.code).toBe('second_step_required');

      // The page, with the same link: a new password and the passkey instead of the code.
      await b.go(`/reset-password?token=${token}`);
      await b.page.waitForURL(b.url('/reset-password'));
      const form = b.page.locator('#reset-form');
      await form.getByLabel('New password').fill(newPassword);
      await b.check('reset-with-passkey');
      // The login page it lands on would sign in with the passkey by autofill (a reset itself never does).
      await disarmAutofillOnce(b.page);
      await form.getByRole('button', { name: 'Use a passkey instead' }).click();
      await b.page.waitForURL(b.url('/login?notice=password_reset'));
      expect((await b.page.request.get(b.url('/api/users/me'))).status()).toBe(401);

      // The new password works, and two-step is still on.
      await disarmAutofillOnce(b.page);
      await logInWithPassword(b, user.email, newPassword, '/login/two-step');
      expect(b.problems.join('\n')).toBe('');
      await b.close();
    });
  });
});
