// Emailed links that carry a token (sign-up confirmation, a new email address, "This wasn't me"): the
// token is moved from the address bar into a short-lived cookie scoped to the page that uses it.
// email-links.ts builds the links themselves, from APP_BASE_URL only.
import type { Request, Response } from 'express';

export type TokenLinks = ReturnType<typeof createTokenLinks>;

export function createTokenLinks(secure: boolean, where: { path: string; cookie: string; cookieMinutes: number }) {
  const { path, cookie, cookieMinutes } = where;
  const options = { httpOnly: true, secure, sameSite: 'lax' as const, path };
  return {
    remember(res: Response, token: unknown): void {
      if (typeof token !== 'string') return;
      res.cookie(cookie, token, { ...options, maxAge: cookieMinutes * 60_000 });
    },

    /**
     * The token from the cookie. Sent twice (one planted beside the real one, e.g. with another Path),
     * it counts as none: which copy a parser keeps must not decide whose link is used.
     */
    recall(req: Request): string | undefined {
      const values = cookieValues(req.get('Cookie') ?? '', cookie);
      return values.length === 1 ? values[0] : undefined;
    },

    forget(res: Response): void {
      res.clearCookie(cookie, options);
    },
  };
}

/** Every value sent under `name` (the cookie package keeps only the first). */
export function cookieValues(header: string, name: string): string[] {
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    try {
      values.push(decodeURIComponent(value));
    } catch {
      values.push(value);
    }
  }
  return values;
}
