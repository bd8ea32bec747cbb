// What "user content is inert" means for a page of HTML, checked on a real parse of it (htmlparser2).
import { parseDocument } from 'htmlparser2';
import type { ChildNode, Element } from 'domhandler';

// The layout's own scripts, from this origin; nothing else may load or run code.
const OUR_SCRIPTS = new Set(['/static/htmx.min.js', '/static/app.js']);
// Elements that can run code, load something, restyle the page or change where forms and links go.
const FORBIDDEN = new Set(['iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'svg', 'math', 'img', 'image', 'video',
  'audio', 'source', 'style', 'base', 'portal', 'template', 'noscript', 'marquee', 'details']);
const URL_ATTRIBUTES = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'srcset', 'background'];
// Our own templates link to local paths; user links must be http(s) or mailto.
const SAFE_URL = /^(https?:\/\/|mailto:|\/(?!\/)|#)/i;
// Our own forms: the only places with state-changing actions.
const OUR_FORMS = /^\/(logout|search|posts|posts\/preview|posts\/\d+\/(edit|delete))$/;

/** Every way the page could run or load something a user wrote; empty when it is inert. */
export function activeContent(html: string): string[] {
  const problems: string[] = [];
  const visit = (nodes: ChildNode[]) => {
    for (const node of nodes) {
      if (node.type !== 'tag' && node.type !== 'script' && node.type !== 'style') continue;
      const el = node as Element;
      const name = el.name.toLowerCase();
      const describe = `<${name} ${Object.entries(el.attribs).map(([k, v]) => `${k}="${v}"`).join(' ')}>`;
      if (name === 'script' && !(OUR_SCRIPTS.has(el.attribs.src) && el.children.length === 0)) problems.push(`script: ${describe}`);
      if (FORBIDDEN.has(name)) problems.push(`element: ${describe}`);
      if (name === 'meta' && el.attribs['http-equiv']) problems.push(`meta refresh: ${describe}`);
      // Ours: styles, the icon, and (absolute, to this site only) the canonical address and Atom feeds.
      const ownLink = ['stylesheet', 'icon'].includes(el.attribs.rel) ||
        (['canonical', 'alternate'].includes(el.attribs.rel) && (el.attribs.href ?? '').startsWith('https://inkwell.test/'));
      if (name === 'link' && !ownLink) problems.push(`link: ${describe}`);
      if (name === 'form' && !OUR_FORMS.test(el.attribs.action ?? '')) problems.push(`form: ${describe}`);
      for (const [attribute, value] of Object.entries(el.attribs)) {
        const key = attribute.toLowerCase();
        if (key.startsWith('on')) problems.push(`handler ${key}: ${describe}`);
        if (key === 'style') problems.push(`style attribute: ${describe}`);
        if (key.startsWith('hx-') && !['hx-post', 'hx-target', 'hx-swap', 'hx-disable', 'hx-confirm'].includes(key)) {
          problems.push(`htmx attribute ${key}: ${describe}`);
        }
        if (URL_ATTRIBUTES.includes(key) && !SAFE_URL.test(value.trim())) problems.push(`${key}: ${describe}`);
      }
      if (name === 'a' && /^(https?:|mailto:)/i.test(el.attribs.href ?? '') && el.attribs.rel !== 'nofollow ugc noopener') {
        problems.push(`link without rel="nofollow ugc noopener": ${describe}`);
      }
      visit(el.children);
    }
  };
  visit(parseDocument(html).children);
  return problems;
}

/** How many h1 elements the page has (a post's own headings start at h2). */
export function h1Count(html: string): number {
  let count = 0;
  const visit = (nodes: ChildNode[]) => {
    for (const node of nodes) {
      if (node.type !== 'tag') continue;
      if ((node as Element).name === 'h1') count++;
      visit((node as Element).children);
    }
  };
  visit(parseDocument(html).children);
  return count;
}
