// The development mailbox: what would have been emailed, readable in the browser.
import type { RequestHandler } from 'express';
import type { MailboxEntry } from '../mail/mailer.ts';
import { showError } from './respond.ts';

export function mailbox(outbox: MailboxEntry[]) {
  const list: RequestHandler = (_req, res) => {
    const now = new Date();
    const messages = outbox.map((m) => ({ ...m, received: { ago: timeAgo(m.date, now), exact: exactTime(m.date) } }));
    res.set('Cache-Control', 'no-store').render('pages/mailbox.njk', { title: 'Dev mailbox', messages });
  };
  const message: RequestHandler = (req, res) => {
    const entry = outbox.find((m) => String(m.id) === req.params.id);
    if (!entry) return showError(req, res, 404, 'not_found', 'There is no such message (the outbox keeps the last 50).');
    // The email's own <body>: our template's output, with every value already escaped.
    const body = /<body[^>]*>([\s\S]*)<\/body>/i.exec(entry.html)?.[1] ?? '';
    const received = { ago: timeAgo(entry.date, new Date()), exact: exactTime(entry.date) };
    res.set('Cache-Control', 'no-store').render('pages/mailbox-message.njk', { title: entry.subject, entry, body, received });
  };
  return { list, message };
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const UNITS = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
] as const;

/** "just now", "2 minutes ago", "yesterday": how a reader says it. */
export function timeAgo(date: Date, now: Date): string {
  const seconds = (date.getTime() - now.getTime()) / 1000;
  if (Math.abs(seconds) < 45) return 'just now';
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === 'minute') return relative.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

/** The exact moment, shown on hover: "2026-11-27 13:45:12 UTC". */
export function exactTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
