// Emailed links that carry a token (sign-up confirmation): the token is moved from the address bar
// into a short-lived cookie scoped to the page that uses it. email-links.ts builds the links.
import type { Request, Response } from 'express';
import { parse as parseCookies } from 'cookie';

export type TokenLinks = ReturnType<typeof createTokenLinks>;

export function createTokenLinks(secure: boolean, where: { path: string; cookie: string; cookieMinutes: number }) {
  const { path, cookie, cookieMinutes } = where;
  const options = { httpOnly: true, secure, sameSite: 'lax' as const, path };
  return {
    remember(res: Response, token: unknown): void {
      if (typeof token !== 'string') return;
      res.cookie(cookie, token, { ...options, maxAge: cookieMinutes * 60_000 });
    },

    recall(req: Request): string | undefined {
      return parseCookies(req.get('Cookie') ?? '')[cookie];
    },

    forget(res: Response): void {
      res.clearCookie(cookie, options);
    },
  };
}
