// Emailed links that carry a token (sign-up confirmation): built from APP_BASE_URL only, and moved
// from the address bar into a short-lived cookie scoped to the page that uses it.
import type { Request, Response } from 'express';
import { parse as parseCookies } from 'cookie';

export type TokenLinks = ReturnType<typeof createTokenLinks>;

export function createTokenLinks(appBaseUrl: URL, secure: boolean, where: { path: string; cookie: string; cookieMinutes: number }) {
  const { path, cookie, cookieMinutes } = where;
  const options = { httpOnly: true, secure, sameSite: 'lax' as const, path };
  return {
    /** The emailed link. Request headers (Host, X-Forwarded-Host) never reach it. */
    linkFor(token: string): string {
      const url = new URL(path, appBaseUrl);
      url.searchParams.set('token', token);
      return url.href;
    },

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

/** A page of this site as an emailed link, from APP_BASE_URL. */
export function siteLink(appBaseUrl: URL, path: string): string {
  return new URL(path, appBaseUrl).href;
}
