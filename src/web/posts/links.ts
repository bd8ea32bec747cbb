// Where posts live on the web. Absolute addresses come from APP_BASE_URL only, never from the
// request's Host: a forged Host must not reach a feed, a canonical link or a preview card.

/** The post's one address; any other slug (or none) redirects here. */
export function postPath(post: { id: number; slug: string }): string {
  return `/posts/${post.id}-${post.slug}`;
}

export function authorPath(username: string): string {
  return `/users/${encodeURIComponent(username)}`;
}

export type Absolute = (path: string) => string;

export function absoluteFrom(base: URL): Absolute {
  return (path) => new URL(path, base).href;
}
