// The readable part of a post's address (/posts/:id-:slug). Only the id finds the post; the slug is
// for people and search engines, so a changed slug never breaks a link (the old one redirects).

export const SLUG_MAX = 80;
// What a slug may be when an author types one: lower-case ASCII words joined by single hyphens.
const SLUG_SHAPE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The title transliterated to ASCII ("Über café" → "ueber-cafe"), cut at a word; "post" when nothing is left (e.g. 日本). */
export async function slugOf(title: string): Promise<string> {
  // Loaded at the first post written, not at start-up (its transliteration tables: docs/benchmarks.md).
  const { default: slugify } = await import('@sindresorhus/slugify');
  const slug = slugify(title, { lowercase: true, decamelize: false });
  if (slug.length <= SLUG_MAX) return slug || 'post';
  const cut = slug.slice(0, SLUG_MAX + 1);
  return cut.slice(0, cut.lastIndexOf('-') > SLUG_MAX / 2 ? cut.lastIndexOf('-') : SLUG_MAX).replace(/-+$/, '') || 'post';
}

export function slugProblem(slug: string): string | null {
  if (slug.length > SLUG_MAX) return `Keep the address to ${SLUG_MAX} characters or fewer.`;
  if (!SLUG_SHAPE.test(slug)) return 'Use lower-case letters, digits and single hyphens between words.';
  return null;
}
