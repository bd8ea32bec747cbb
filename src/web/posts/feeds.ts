// What machines read: Atom feeds (the site's and each author's), the sitemap and robots.txt. All
// public and the same for everyone, so all served from the anonymous page cache; every address in
// them is absolute from APP_BASE_URL, never from the request's Host.
import type { Request, RequestHandler, Response } from 'express';
import type { FeedEntry, Posts } from '../../posts/index.ts';
import { renderShared, type PageCache } from '../page-cache.ts';
import { showError } from '../respond.ts';
import { authorPath, postPath, type Absolute } from './links.ts';

const ATOM = 'application/atom+xml; charset=utf-8';
const XML = 'application/xml; charset=utf-8';
// Characters XML 1.0 does not allow at all (C0 controls but tab and line breaks, lone surrogates,
// U+FFFE/U+FFFF), escaped or not; markdown-it passes them through, so they are dropped here.
const XML_FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text as XML may hold it (autoescape then escapes the markup characters). */
export function xmlText(value: unknown): string {
  return String(value ?? '').replace(XML_FORBIDDEN, '');
}

export function feedRoutes({ posts, cache, absolute, siteName }: { posts: Posts; cache: PageCache; absolute: Absolute; siteName: string }) {
  // tag: URIs (RFC 4151) need a DNS name and a date; the name is APP_BASE_URL's host.
  const authority = new URL(absolute('/')).hostname;
  const tagOf = (entry: FeedEntry) => `tag:${authority},${entry.createdAt.toISOString().slice(0, 10)}:post-${entry.id}`;

  /** Shared with every reader (feeds carry nothing personal), until it ages or a scheduled post goes public. */
  const serve = async (req: Request, res: Response, template: string, context: object, type: string) =>
    renderShared(req, res, cache, template, context, true, { type, until: await posts.nextPublication() });

  const atom = async (req: Request, res: Response, entries: FeedEntry[], feed: { title: string; path: string; self: string; id: string }) => {
    const shaped = entries.map((entry) => ({
      ...entry,
      tag: tagOf(entry),
      url: absolute(postPath(entry)),
      published: entry.publishedAt!,
      // The real last edit; a post scheduled after its last edit changed when it went public.
      updated: new Date(Math.max(entry.updatedAt.getTime(), entry.publishedAt!.getTime())),
      author: entry.author.username,
      authorUrl: absolute(authorPath(entry.author.username)),
    }));
    const updated = new Date(Math.max(0, ...shaped.map((entry) => entry.updated.getTime())));
    const context = { feed: { ...feed, updated, self: absolute(feed.self), alternate: absolute(feed.path) }, entries: shaped };
    await serve(req, res, 'feeds/atom.njk', context, ATOM);
  };

  const siteFeed: RequestHandler = async (req, res) => {
    const entries = (await posts.latestWithContent())!;
    await atom(req, res, entries, { title: siteName, path: '/', self: '/feed.xml', id: `tag:${authority},2026:feed` });
  };

  const authorFeed: RequestHandler = async (req, res) => {
    const username = String(req.params.username).toLowerCase();
    const entries = await posts.latestWithContent(username);
    if (!entries) return showError(req, res, 404, 'not_found', 'There is no author with that name.');
    const path = authorPath(username);
    await atom(req, res, entries, { title: `${siteName}: posts by ${username}`, path, self: `${path}/feed.xml`, id: `tag:${authority},2026:user-${username}` });
  };

  const sitemap: RequestHandler = async (req, res) => {
    const { posts: entries, authors } = await posts.sitemapEntries();
    const pages = [
      ...entries.map((post) => ({ loc: absolute(postPath(post)), lastmod: post.updatedAt })),
      ...authors.map((author) => ({ loc: absolute(authorPath(author.username)), lastmod: author.updatedAt })),
    ];
    await serve(req, res, 'feeds/sitemap.njk', { home: absolute('/'), pages }, XML);
  };

  const robots: RequestHandler = (_req, res) => {
    res.type('text/plain').send(
      ['User-agent: *', 'Disallow: /account', 'Disallow: /posts/new', 'Disallow: /api/', '', `Sitemap: ${absolute('/sitemap.xml')}`, ''].join('\n'),
    );
  };

  return { siteFeed, authorFeed, sitemap, robots };
}
