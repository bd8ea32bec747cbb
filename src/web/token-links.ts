// Emailed links that carry a token (reset, sign-up confirmation, a new email address, "This wasn't
// me"): on first load the token moves from the address bar into a short-lived cookie, so it is in
// no history, bookmark or Referer. email-links.ts builds the links themselves, from APP_BASE_URL only.
import type { Request, RequestHandler, Response } from 'express';
import { localPath } from './forms.ts';

export type TokenLinks = ReturnType<typeof createTokenLinks>;

function createTokenLinks(production: boolean, where: { path: string; cookie: string; cookieMinutes: number }) {
  const { path, cookieMinutes } = where;
  // In production __Host-: a sibling subdomain cannot plant its own token under this name (a browser
  // takes such a cookie only from this exact origin, over HTTPS, for Path=/). Development is plain
  // HTTP, where the cookie is scoped to the one page that uses it instead.
  const name = production ? `__Host-${where.cookie}` : where.cookie;
  const options = { httpOnly: true, secure: production, sameSite: 'lax' as const, path: production ? '/' : path };

  function remember(res: Response, token: unknown): void {
    if (typeof token !== 'string') return;
    res.cookie(name, token, { ...options, maxAge: cookieMinutes * 60_000 });
  }

  return {
    /**
     * In the route table before the page (after `noStore`): a link's first load stores its token and
     * answers 303 to the clean address, before anything else, a login included. A local `next` (where
     * a sign-in link goes afterwards) stays in the address: it is no secret.
     */
    fromAddressBar: ((req, res, next) => {
      if (req.query.token === undefined) return next();
      remember(res, req.query.token);
      const then = localPath(typeof req.query.next === 'string' ? req.query.next : undefined);
      res.redirect(303, then ? `${path}?next=${encodeURIComponent(then)}` : path);
    }) satisfies RequestHandler as RequestHandler,

    /**
     * The token from the cookie. Sent twice (one planted beside the real one, e.g. with another Path),
     * it counts as none: which copy a parser keeps must not decide whose link is used.
     */
    recall(req: Request): string | undefined {
      const values = cookieValues(req.get('Cookie') ?? '', name);
      return values.length === 1 ? values[0] : undefined;
    },

    forget(res: Response): void {
      res.clearCookie(name, options);
    },
  };
}

/** Every emailed link's cookie, one per page that redeems a token. */
export function createLinkCookies(production: boolean) {
  return {
    // Long enough to type a new password, short enough not to linger in the browser.
    reset: createTokenLinks(production, { path: '/reset-password', cookie: 'inkwell_reset', cookieMinutes: 15 }),
    // Long enough to read the page and press the button; the emailed link itself lives a day.
    signup: createTokenLinks(production, { path: '/register/confirm', cookie: 'inkwell_signup', cookieMinutes: 30 }),
    // Confirming may take a login first.
    emailChange: createTokenLinks(production, { path: '/account/email/confirm', cookie: 'inkwell_email_change', cookieMinutes: 15 }),
    secure: createTokenLinks(production, { path: '/account/secure', cookie: 'inkwell_secure', cookieMinutes: 15 }),
    twoStepRemoval: createTokenLinks(production, { path: '/login/two-step/remove', cookie: 'inkwell_two_step_removal', cookieMinutes: 15 }),
    // As long as the link itself lives.
    signIn: createTokenLinks(production, { path: '/login/email/confirm', cookie: 'inkwell_sign_in', cookieMinutes: 10 }),
  };
}
export type LinkCookies = ReturnType<typeof createLinkCookies>;

/** Every value sent under `name` (the cookie package keeps only the first). */
function cookieValues(header: string, name: string): string[] {
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
