// Rendered pages for anonymous readers, most of a blog's traffic: the feed, posts and author pages
// are the same for everyone without a session, so each is rendered once and then served as bytes,
// before the session middleware runs (a visitor without a cookie never gets a session made).
import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { parse as parseCookies } from 'cookie';
import { wantsFragment } from './respond.ts';

// Every post write on this instance empties the cache at once. Writes on another instance (several
// instances share one database) and posts removed with their author's account reach this one's
// readers within this bound.
const MAX_AGE_MS = 5_000;
// Bounds memory whatever addresses (`?before=` values) visitors make up.
const MAX_ENTRIES = 500;

type Entry = { body: Buffer; etag: string; expiresAt: number; type: string };

export class PageCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /**
   * A page's key: its path and only the parameters pages use, in their parsed form. So `?n=1`,
   * `?n=2`… (or `?before=junk`) all find the one stored page instead of each rendering a new one.
   */
  static keyOf(req: Request): string {
    const before = req.query.before;
    const cursor = typeof before === 'string' && /^[1-9]\d{0,9}$/.test(before) ? `?before=${before}` : '';
    return `${wantsFragment(req) ? 'fragment ' : ''}${req.path}${cursor}`;
  }

  get(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.now() < entry.expiresAt) return entry;
    if (entry) this.entries.delete(key);
    return undefined;
  }

  /** `until`: when the page goes stale before its usual age (a scheduled post becomes public then). */
  set(key: string, html: string, { until, type = 'html' }: { until?: Date | null; type?: string } = {}): Entry {
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    const body = Buffer.from(html);
    const expiresAt = Math.min(this.now() + MAX_AGE_MS, until?.getTime() ?? Infinity);
    const entry = { body, etag: etagOf(body), expiresAt, type };
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
  const cookies = req.headers.cookie;
  if (cookies === undefined || !cookies.includes(`${sessionCookie}=`)) return true;
  return parseCookies(cookies)[sessionCookie] === undefined;
}

/** Answers from the cache when it can; otherwise the route renders, and `renderShared` stores it. */
export function serveCachedPages(cache: PageCache, sessionCookie: string): RequestHandler {
  return (req, res, next) => {
    if (!anonymousRead(req, sessionCookie)) return next();
    const entry = cache.get(PageCache.keyOf(req));
    if (!entry) return next();
    send(res, entry);
  };
}

/**
 * Renders a page that looks the same to every anonymous reader; for one, it is kept for the next.
 * Only called by the routes `serveCachedPages` covers, and only for 200 answers.
 */
export function renderShared(
  req: Request, res: Response, cache: PageCache, template: string, context: object, anonymous: boolean,
  options: { until?: Date | null; type?: string } = {},
): void {
  res.render(template, context, (err, html) => {
    if (err) return req.next!(err);
    if (!anonymous) return res.type(options.type ?? 'html').send(html);
    send(res, cache.set(PageCache.keyOf(req), html, options));
  });
}

// Computed once when a page is stored rather than by Express on every answer.
function etagOf(body: Buffer): string {
  return `W/"${body.length.toString(16)}-${createHash('sha1').update(body).digest('base64url').slice(0, 27)}"`;
}

function send(res: Response, entry: Entry): void {
  res.vary('HX-Request');
  res.set('ETag', entry.etag).type(entry.type).send(entry.body);
}

/**
 * Pages that never change for an anonymous visitor (the log-in, sign-up and forgot-password forms,
 * the API reference): rendered on the first anonymous request and from then on answered from that
 * copy, before the body parsers, the session middleware and the route table. Kept for the process's
 * life (templates do not change while it runs). Only an address without a query string qualifies:
 * `?next=` and `?notice=` change the page, so those requests are rendered as before.
 */
export class StaticPages {
  readonly #pages = new Map<string, Entry>();
  readonly #sessionCookie: string;

  constructor(sessionCookie: string) {
    this.#sessionCookie = sessionCookie;
  }

  /** Before the session middleware: answers from the copy when there is one. */
  readonly serve: RequestHandler = (req, res, next) => {
    const entry = this.#pages.get(req.originalUrl);
    if (!entry || !this.#qualifies(req)) return next();
    send(res, entry);
  };

  /** In the route table, before a page's handler: a qualifying request's 200 page is kept (see `show`). */
  readonly keep: RequestHandler = (req, res, next) => {
    if (this.#qualifies(req)) {
      res.locals.keepPage = (html: string) => {
        const body = Buffer.from(html);
        const entry = { body, etag: etagOf(body), expiresAt: Infinity, type: 'html' };
        this.#pages.set(req.originalUrl, entry);
        send(res, entry);
      };
    }
    next();
  };

  // One copy per address, the full page: htmx's fragment requests are rendered as before (anonymousRead
  // lets them through for PageCache, which keys fragments apart).
  #qualifies(req: Request): boolean {
    return !req.originalUrl.includes('?') && !req.get('HX-Request') && anonymousRead(req, this.#sessionCookie);
  }
}
