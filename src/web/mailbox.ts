// The development mailbox: what would have been emailed, readable in the browser.
import type { RequestHandler } from 'express';
import type { MailboxEntry } from '../mail/mailer.ts';
import { showError } from './respond.ts';

export function devMailbox(messages: MailboxEntry[]) {
  const list: RequestHandler = (_req, res) => {
    res.set('Cache-Control', 'no-store').render('pages/mailbox.njk', { title: 'Dev mailbox', messages });
  };
  const message: RequestHandler = (req, res) => {
    const entry = messages.find((m) => String(m.id) === req.params.id);
    if (!entry) return showError(req, res, 404, 'not_found', 'There is no such message (the mailbox keeps the last 50).');
    // The email's own <body>: our template's output, with every value already escaped.
    const body = /<body[^>]*>([\s\S]*)<\/body>/i.exec(entry.html)?.[1] ?? '';
    res.set('Cache-Control', 'no-store').render('pages/mailbox-message.njk', { title: entry.subject, entry, body });
  };
  return { list, message };
}
