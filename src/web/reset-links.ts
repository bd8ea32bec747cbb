// Reset links: carried from the address bar into a short-lived cookie (email-links.ts builds them).
import type { Request, Response } from 'express';
import { cookieValues } from './token-links.ts';

const PATH = '/reset-password';
// Long enough to type a new password, short enough not to linger in the browser.
const COOKIE_MINUTES = 15;

export type ResetLinks = ReturnType<typeof createResetLinks>;

export function createResetLinks(secure: boolean) {
  // In production __Host-: a sibling subdomain cannot plant its own token under this name (a browser
  // takes such a cookie only from this exact origin, over HTTPS, for Path=/). Development is plain HTTP.
  const cookie = secure
    ? { name: '__Host-inkwell_reset', options: { httpOnly: true, secure, sameSite: 'lax', path: '/' } as const }
    : { name: 'inkwell_reset', options: { httpOnly: true, secure, sameSite: 'lax', path: PATH } as const };

  return {
    remember(res: Response, token: unknown): void {
      if (typeof token !== 'string') return;
      res.cookie(cookie.name, token, { ...cookie.options, maxAge: COOKIE_MINUTES * 60_000 });
    },

    /**
     * The token from the cookie. Sent twice (one planted beside the real one, e.g. with another Path),
     * it counts as none: which copy a parser keeps must not decide whose password is set.
     */
    recall(req: Request): string | undefined {
      const values = cookieValues(req.get('Cookie') ?? '', cookie.name);
      return values.length === 1 ? values[0] : undefined;
    },

    forget(res: Response): void {
      res.clearCookie(cookie.name, cookie.options);
    },
  };
}
