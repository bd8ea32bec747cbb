// One browser session for the end-to-end tests: a fresh context, and the checks every journey makes on its pages.
import type { Browser, Locator, Response } from 'playwright-core';
import { expect } from 'vitest';
import {
  contentWidthAt, saveScreenshot, seriousAccessibilityViolations, seriousAccessibilityViolationsWithoutScripts, watchForProblems,
} from './browser.ts';
import { PATIENCE_MS } from './net.ts';

export const SCREENSHOTS = 'test-artifacts/screenshots';

export type Mode = { name: string; javaScript: boolean; folder: string };
export const WITH_JS: Mode = { name: 'with JavaScript', javaScript: true, folder: 'js' };
export const WITHOUT_JS: Mode = { name: 'without JavaScript', javaScript: false, folder: 'no-js' };

/** A fresh context (no cookies) and page, and the checks the journeys make on it. */
export async function openSession(browser: Browser, mode: Mode, baseUrl: string) {
  const context = await browser.newContext({ javaScriptEnabled: mode.javaScript, viewport: { width: 1024, height: 720 } });
  // A step that cannot happen fails naming the step, instead of hanging the test; the deadline is a
  // busy machine's, since Chromium shares two cores with the app, Postgres and the other test worker.
  context.setDefaultTimeout(PATIENCE_MS);
  const page = await context.newPage();
  const problems = await watchForProblems(page);
  // axe cannot run where scripts are off; without JavaScript, pages are audited as copies in a page with scripts on.
  const auditor = mode.javaScript ? undefined : await browser.newPage();
  const close = async () => {
    await auditor?.close();
    await context.close();
  };
  const url = (path: string) => new URL(path, baseUrl).href;
  const go = (path: string) => page.goto(url(path));

  /** Every page in every state: no errors so far, no serious axe violation, no sideways scrolling at 320 px, a screenshot. */
  async function check(name: string) {
    await page.waitForLoadState('load');
    expect(problems.join('\n'), `problems by "${name}"`).toBe('');
    const violations = auditor
      ? await seriousAccessibilityViolationsWithoutScripts(page, auditor)
      : await seriousAccessibilityViolations(page);
    expect(violations.join('\n'), `axe on "${name}"`).toBe('');
    // Narrow screenshots with JavaScript only: the pages without it look the same.
    const narrow = mode.javaScript ? `${SCREENSHOTS}/${mode.folder}/320/${name}.png` : undefined;
    expect(await contentWidthAt(page, 320, narrow), `content width at 320 px on "${name}"`).toBeLessThanOrEqual(320);
    await saveScreenshot(page, `${SCREENSHOTS}/${mode.folder}/${name}.png`);
  }

  /** Clicks a form's button and returns the answer to its POST (a redirect, a page or an htmx fragment). */
  async function submit(form: Locator, button: string, path: string): Promise<Response> {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === path),
      form.getByRole('button', { name: button }).click(),
    ]);
    return response;
  }

  /** With htmx the page stays (a marker on window survives); without, a new page loads (the marker is gone). */
  const markPage = () => page.evaluate(() => Object.assign(window, { inkwellMarker: 'same page' }));
  const pageWasKept = () => page.evaluate(() => (window as unknown as { inkwellMarker?: string }).inkwellMarker === 'same page');

  /** htmx answers a successful post with 204 + HX-Redirect; a plain form gets a 303. */
  function expectRedirect(response: Response, location: string) {
    if (mode.javaScript) {
      expect(response.status()).toBe(204);
      expect(response.headers()['hx-redirect']).toBe(location);
    } else {
      expect(response.status()).toBe(303);
      expect(response.headers()['location']).toBe(location);
    }
  }

  /** The field's error sits inside the form, and the input points at it (aria-invalid, aria-describedby). */
  async function expectFieldError(form: Locator, label: string, text: RegExp) {
    const input = form.getByLabel(label, { exact: true });
    // Without JavaScript the answer is a new page, which a busy machine can take seconds to show.
    await expect.poll(() => input.getAttribute('aria-invalid'), { timeout: 10_000 }).toBe('true');
    const describedBy = (await input.getAttribute('aria-describedby')) ?? '';
    const errorId = describedBy.split(' ').find((id) => id.endsWith('-error'));
    expect(errorId, `aria-describedby of "${label}"`).toBeDefined();
    const error = form.locator(`[id="${errorId}"]`);
    expect(await error.count(), `error #${errorId} inside the form`).toBe(1);
    expect(await error.textContent()).toMatch(text);
  }

  /** After an htmx swap, focus moves to the form's message so screen readers announce it (public/app.js). */
  async function expectFocusOnMessage(text: RegExp) {
    if (!mode.javaScript) return;
    await page.waitForFunction(() => document.activeElement?.matches('.message[data-autofocus]'), null, { timeout: PATIENCE_MS });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toMatch(text);
  }

  return { close, page, problems, go, url, check, submit, markPage, pageWasKept, expectRedirect, expectFieldError, expectFocusOnMessage };
}
