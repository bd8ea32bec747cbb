// How every handler answers: a page, an htmx fragment, a redirect, or a JSON error.
import type { Request, Response } from 'express';
import type { FieldErrors } from './forms.ts';

/** htmx asked for the fragment to swap in (not a boosted navigation, which wants the whole page). */
export function wantsFragment(req: Request): boolean {
  return req.get('HX-Request') === 'true' && req.get('HX-Request-Type') !== 'full' && !req.get('HX-Boosted');
}

export function wantsJson(req: Request): boolean {
  return req.path.startsWith('/api/');
}

/**
 * Renders `pages/<page>.njk`, or only `partials/<fragment>.njk` for htmx.
 * The page includes the same partial, so both renderings come from one template.
 */
export function show(
  req: Request,
  res: Response,
  view: { page: string; fragment?: string; status?: number; title?: string },
  context: object = {},
): void {
  res.vary('HX-Request');
  const template = view.fragment && wantsFragment(req) ? `partials/${view.fragment}.njk` : `pages/${view.page}.njk`;
  const status = view.status ?? 200;
  // A page the same for every anonymous visitor is kept for the next one (StaticPages, page-cache.ts).
  const keep = res.locals.keepPage as ((html: string) => void) | undefined;
  if (keep && status === 200) {
    return res.render(template, { title: view.title, ...context }, (err, html) => (err ? req.next!(err) : keep(html)));
  }
  res.status(status).render(template, { title: view.title, ...context });
}

/** 303 for a plain form; for htmx a full navigation, since the login state in the header changes. */
export function redirect(req: Request, res: Response, location: string): void {
  if (wantsFragment(req)) {
    res.set('HX-Redirect', location).status(204).end();
  } else {
    res.redirect(303, location);
  }
}

export function jsonError(res: Response, status: number, code: string, message: string, fields?: FieldErrors): void {
  res.status(status).json({ error: { code, message, ...(fields ? { fields } : {}) } });
}

/** The JSON answer to input that does not pass: 422, one message per field. */
export function invalidInput(res: Response, fields: FieldErrors): void {
  jsonError(res, 422, 'invalid_input', 'Some fields need attention.', fields);
}

/** Any error answer, in the form the client asked for. */
export function showError(req: Request, res: Response, status: number, code: string, message: string): void {
  if (wantsJson(req)) return jsonError(res, status, code, message);
  show(req, res, { page: 'error', fragment: 'error', status, title: message }, { status, message });
}
