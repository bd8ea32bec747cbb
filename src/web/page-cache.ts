// Rendered pages for anonymous readers, most of a blog's traffic: the feed, posts and author pages
// are the same for everyone without a session, so each is rendered once and then served as bytes,
// before the session middleware runs (a visitor without a cookie never gets a session made).
import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { parse as parseCookies } from 'cookie';

// Every post write on this instance empties the cache at once. Writes on another instance (several
// instances share one database) and posts removed with their author's account reach this one's
// readers within this bound.
const MAX_AGE_MS = 5_000;
// Bounds memory whatever addresses (`?before=` values) visitors make up.
const MAX_ENTRIES = 500;

type Entry = { body: Buffer; etag: string; storedAt: number };

export class PageCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  get(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.storedAt < MAX_AGE_MS) return entry;
    if (entry) this.entries.delete(key);
    return undefined;
  }

  set(key: string, html: string): Entry {
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    const body = Buffer.from(html);
    // Computed once here rather than by Express on every answer.
    const etag = `W/"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64url').slice(0, 27)}"`;
    const entry = { body, etag, storedAt: this.now() };
    this.entries.set(key, entry);
    return entry;
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Whether this request may be answered with (and its answer stored as) the anonymous page. */
function anonymousRead(req: Request, sessionCookie: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (req.get('HX-Request')) return false;
  const cookies = req.headers.cookie;
  if (cookies === undefined || !cookies.includes(`${sessionCookie}=`)) return true;
  return parseCookies(cookies)[sessionCookie] === undefined;
}

/** Answers from the cache when it can; otherwise the route renders, and `renderShared` stores it. */
export function serveCachedPages(cache: PageCache, sessionCookie: string): RequestHandler {
  return (req, res, next) => {
    if (!anonymousRead(req, sessionCookie)) return next();
    const entry = cache.get(req.originalUrl);
    if (!entry) return next();
    send(res, entry);
  };
}

/**
 * Renders a page that looks the same to every anonymous reader; for one, it is kept for the next.
 * Only called by the routes `serveCachedPages` covers, and only for 200 answers.
 */
export function renderShared(req: Request, res: Response, cache: PageCache, template: string, context: object, anonymous: boolean): void {
  res.render(template, context, (err, html) => {
    if (err) return req.next!(err);
    if (!anonymous) return res.send(html);
    send(res, cache.set(req.originalUrl, html));
  });
}

function send(res: Response, entry: Entry): void {
  res.vary('HX-Request');
  res.set('ETag', entry.etag).type('html').send(entry.body);
}
