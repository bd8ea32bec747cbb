// Renders emails from views/emails/NAME.txt.njk and NAME.html.njk.
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';

const env = new nunjucks.Environment(
  new nunjucks.FileSystemLoader(fileURLToPath(new URL('../../views/emails', import.meta.url))),
  { autoescape: true, throwOnUndefined: true },
);

export function renderEmail(name: string, context: object): { text: string; html: string } {
  return {
    text: env.render(`${name}.txt.njk`, context),
    html: env.render(`${name}.html.njk`, context),
  };
}
