// Reset links: built from APP_BASE_URL only, and carried from the address bar into a short-lived cookie.
import type { Request, Response } from 'express';
import { parse as parseCookies } from 'cookie';

const COOKIE = 'inkwell_reset';
const PATH = '/reset-password';
// Long enough to type a new password, short enough not to linger in the browser.
const COOKIE_MINUTES = 15;

export type ResetLinks = ReturnType<typeof createResetLinks>;

export function createResetLinks(appBaseUrl: URL, secure: boolean) {
  return {
    /** The emailed link. Request headers (Host, X-Forwarded-Host) never reach it. */
    linkFor(token: string): string {
      const url = new URL(PATH, appBaseUrl);
      url.searchParams.set('token', token);
      return url.href;
    },

    remember(res: Response, token: unknown): void {
      if (typeof token !== 'string') return;
      res.cookie(COOKIE, token, {
        httpOnly: true, secure, sameSite: 'lax', path: PATH, maxAge: COOKIE_MINUTES * 60_000,
      });
    },

    recall(req: Request): string | undefined {
      return parseCookies(req.get('Cookie') ?? '')[COOKIE];
    },

    forget(res: Response): void {
      res.clearCookie(COOKIE, { httpOnly: true, secure, sameSite: 'lax', path: PATH });
    },
  };
}
