// Headless Chromium for the end-to-end tests: launching it, and the checks every page must pass.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM);
}

/** Every launch gets a fresh temporary profile (user-data dir), removed when the browser closes. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

declare global {
  interface Window {
    reportCspViolation?: (text: string) => void;
  }
}

/**
 * Collects what must never happen on a page: console errors, uncaught exceptions, CSP violations,
 * failed requests, 5xx answers, and 4xx answers to anything but pages and form posts (which the
 * test expects one by one, like the 422 of a refused password).
 */
export async function watchForProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  page.on('console', (message) => {
    // Chromium logs every 4xx answer as "Failed to load resource"; the response check below sorts them out.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource: the server responded with a status of 4')) {
      problems.push(`console error on ${page.url()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`uncaught exception on ${page.url()}: ${error.message}`));
  page.on('requestfailed', (request) => {
    // A navigation cancels what the previous page still had in flight; that is not a failure.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') {
      problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`);
    }
  });
  page.on('response', (response) => {
    const status = response.status();
    const request = response.request();
    const checkedByTest = request.resourceType() === 'document' || request.method() === 'POST';
    if (status >= 500 || (status >= 400 && !checkedByTest)) {
      problems.push(`${status} for ${request.method()} ${response.url()}`);
    }
  });
  // Chromium also logs violations to the console (caught above even without JavaScript); this names the directive.
  await page.exposeFunction('reportCspViolation', (text: string) => problems.push(`CSP violation: ${text}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      window.reportCspViolation?.(`${event.violatedDirective} blocked ${event.blockedURI || 'inline code'} on ${location.pathname}`);
    });
  });
  return problems;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Runs axe-core in the page and lists its serious and critical violations, one line each. */
export async function seriousAccessibilityViolations(page: Page): Promise<string[]> {
  return page.evaluate(`${AXE_SOURCE}
    ;axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => v.impact + ' ' + v.id + ': ' + v.help + ' [' + v.nodes.map((n) => n.target.join(' ')).join(', ') + ']'))`);
}

/**
 * The same audit for a page opened without JavaScript. Such a page never runs a timer or a promise,
 * which axe needs, so its DOM (minus scripts, which never ran) is loaded at the same address in `auditor`,
 * a page with scripts on, where the stylesheet applies just the same.
 */
export async function seriousAccessibilityViolationsWithoutScripts(page: Page, auditor: Page): Promise<string[]> {
  const html = (await page.content()).replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '');
  const address = page.url();
  const sameAddress = (url: URL) => url.href === address;
  await auditor.route(sameAddress, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
  try {
    await auditor.goto(address);
  } finally {
    await auditor.unroute(sameAddress);
  }
  return seriousAccessibilityViolations(auditor);
}

/** How wide the page's content is when the viewport is `width` pixels wide (more means a horizontal scrollbar). */
export async function contentWidthAt(page: Page, width: number, screenshot?: string): Promise<number> {
  const original = page.viewportSize();
  await page.setViewportSize({ width, height: 720 });
  const contentWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  if (screenshot) await saveScreenshot(page, screenshot);
  if (original) await page.setViewportSize(original);
  return contentWidth;
}

export async function saveScreenshot(page: Page, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'initial' });
}

/** The focused element's description and whether it shows a focus ring (an outline of at least 2 px). */
export async function focusRing(page: Page): Promise<{ element: string; visible: boolean }> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return { element: 'body', visible: false };
    const style = getComputedStyle(el);
    const label = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent || el.getAttribute('name') || '').trim()}"`;
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 && style.outlineColor !== 'rgba(0, 0, 0, 0)';
    return { element: label, visible: outline && el.matches(':focus-visible') };
  });
}
