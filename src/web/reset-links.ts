// Reset links: carried from the address bar into a short-lived cookie (email-links.ts builds them).
import type { Request, Response } from 'express';
import { parse as parseCookies } from 'cookie';

const COOKIE = 'inkwell_reset';
const PATH = '/reset-password';
// Long enough to type a new password, short enough not to linger in the browser.
const COOKIE_MINUTES = 15;

export type ResetLinks = ReturnType<typeof createResetLinks>;

export function createResetLinks(secure: boolean) {
  return {
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
