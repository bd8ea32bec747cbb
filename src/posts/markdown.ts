// Posts' Markdown to HTML, and to plain text for excerpts. The only importer of markdown-it.
// Safety comes from the renderer's own rules, not from a sanitizer: raw HTML is never passed
// through (html: false escapes it), and every link destination must pass `allowedLink`.
import MarkdownIt from 'markdown-it';
import type { Token } from 'markdown-it';

// Schemes a reader can follow safely. Anything else (javascript:, vbscript:, data:, file:, …)
// and anything relative is refused; markdown-it then leaves the Markdown as plain text.
const ALLOWED_SCHEMES = /^(https?:\/\/|mailto:)/i;
// Links lead out of Inkwell to content its users chose: no ranking credit, no window.opener.
const LINK_REL = 'nofollow ugc noopener';

/** Whether a destination (already normalised by markdown-it: trimmed, percent-encoded) may become an href. */
export function allowedLink(url: string): boolean {
  return ALLOWED_SCHEMES.test(url);
}

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
md.validateLink = allowedLink;

// The page's title is its only h1: "# Heading" in a post becomes an h2, and so on down to h6.
md.core.ruler.push('shift_headings', (state) => {
  for (const token of state.tokens) {
    if (token.type === 'heading_open' || token.type === 'heading_close') {
      token.tag = `h${Math.min(6, Number(token.tag.slice(1)) + 1)}`;
    }
  }
});

md.renderer.rules.link_open = (tokens, i, options, _env, self) => {
  tokens[i].attrSet('rel', LINK_REL);
  return self.renderToken(tokens, i, options);
};

// No images: the CSP allows images from this origin only, so a post's picture from elsewhere
// would be blocked (and would tell its host who reads the post). An image becomes a link to it,
// named by its alt text; its source already passed `allowedLink`.
md.renderer.rules.image = (tokens, i) => {
  const token = tokens[i];
  const href = md.utils.escapeHtml(String(token.attrGet('src') ?? ''));
  const alt = md.utils.escapeHtml(plainText(token.children ?? []) || 'image');
  return `<a href="${href}" rel="${LINK_REL}">Image: ${alt}</a>`;
};

/**
 * Bump whenever a change here changes what a body renders to (HTML or excerpt): posts are rendered
 * when written and stored, and any post rendered by an older version is rendered again.
 * 1: rendered at write time; headings end a sentence in excerpts.
 */
export const RENDER_VERSION = 1;

export function renderMarkdown(body: string): string {
  return md.render(body);
}

// Silent reading speed of adult readers (Brysbaert 2019: ~238 words a minute for non-fiction).
const WORDS_PER_MINUTE = 238;

/** Minutes to read the body, at least 1. Counts words of the Markdown, which is close enough. */
export function readingMinutes(body: string): number {
  return Math.max(1, Math.round((body.match(/[\p{L}\p{N}]+/gu)?.length ?? 0) / WORDS_PER_MINUTE));
}

/** The post's text without Markdown, whitespace collapsed, cut at a word to at most `max` characters. */
export function excerptOf(body: string, max: number): string {
  const text = plainText(md.parse(body, {})).replace(/\s+/g, ' ').trim();
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const atWord = cut.lastIndexOf(' ');
  return `${(atWord > max / 2 ? cut.slice(0, atWord) : cut).trimEnd()}…`;
}

function plainText(tokens: Token[]): string {
  let text = '';
  for (const token of tokens) {
    if (token.children) text += plainText(token.children);
    else if (token.type === 'text' || token.type === 'code_inline' || token.type === 'code_block' || token.type === 'fence') {
      text += token.content;
    } else if (token.type === 'softbreak' || token.type === 'hardbreak') text += ' ';
    // A heading ends its sentence: "What you can write. Posts are…", not "What you can write Posts are…".
    if (token.type === 'heading_close' && /[\p{L}\p{N}]\s*$/u.test(text)) text += '.';
    if (token.block && token.type.endsWith('_close')) text += ' ';
  }
  return text;
}
