// Passkeys in real Chromium: a browser session with the DevTools Protocol's virtual authenticator
// (ctap2, internal, resident keys, user verification), and the steps the tests repeat.
import type { Browser, CDPSession, Page } from 'playwright-core';
import { expect } from 'vitest';
import { WITH_JS, openSession } from '../support/browser-session.ts';

export const AUTHENTICATOR = {
  protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
  isUserVerified: true, automaticPresenceSimulation: true,
} as const;

export type Credential = { credentialId: string; rpId: string; userHandle: string; signCount: number; privateKey: string; isResidentCredential: boolean };

/** A fresh browser context with one internal authenticator (Chromium allows one per context). */
export async function passkeyBrowser(browser: Browser, baseUrl: string) {
  const session = await openSession(browser, WITH_JS, baseUrl);
  const cdp: CDPSession = await session.page.context().newCDPSession(session.page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR });
  const credentials = async (): Promise<Credential[]> => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as Credential[];
  const override = (bits: { isBadUV?: boolean; isBogusSignature?: boolean }) =>
    cdp.send('WebAuthn.setResponseOverrideBits', { authenticatorId, isBadUV: false, isBogusSignature: false, isBadUP: false, ...bits });
  return { ...session, cdp, authenticatorId, credentials, override };
}
export type PasskeyBrowser = Awaited<ReturnType<typeof passkeyBrowser>>;

/**
 * The next passkey autofill on /login is left unarmed (its options request is dropped, as a navigation
 * would drop it), so a test can use the password or the button with a passkey in the authenticator.
 */
export async function disarmAutofillOnce(page: Page): Promise<void> {
  await page.route('**/api/auth/passkey/options', (route) => route.abort('aborted'), { times: 1 });
}

export async function logInWithPassword(b: PasskeyBrowser, email: string, password: string, landing = '/account'): Promise<void> {
  await b.go('/login');
  const form = b.page.locator('#login-form');
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill(password);
  await b.submit(form, 'Log in', '/login');
  await b.page.waitForURL((url) => url.pathname === landing);
}

export async function logOut(b: PasskeyBrowser): Promise<void> {
  await b.page.getByRole('button', { name: 'Log out' }).click();
  await b.page.waitForURL(b.url('/'));
}

/** Adds a passkey on /account/security, typing the password if the page asks (no recent confirmation). */
export async function addPasskey(b: PasskeyBrowser, password?: string, name?: string): Promise<void> {
  await b.go('/account/security');
  const form = b.page.locator('#add-passkey');
  await expect.poll(() => form.isVisible()).toBe(true);
  const field = form.getByLabel('Current password');
  if (await field.count()) await field.fill(password ?? '');
  if (name) await form.getByLabel('Name (optional)').fill(name);
  await form.getByRole('button', { name: 'Add a passkey' }).click();
  await b.page.waitForURL(/\/account\/security\?notice=passkey_added/);
}

/** Answers the app gives to passkey sign-ins from now on (status and error code), in order. */
export function watchPasskeySignIns(page: Page): { status: number; code?: string }[] {
  const seen: { status: number; code?: string }[] = [];
  page.on('response', async (response) => {
    if (response.request().method() !== 'POST' || new URL(response.url()).pathname !== '/api/auth/passkey') return;
    const body = await response.json().catch(() => ({}));
    seen.push({ status: response.status(), code: body?.error?.code });
  });
  return seen;
}
