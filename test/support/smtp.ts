// A real SMTP server in the test process: nodemailer sends to it over TCP, mailparser reads what arrived.
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export type Sink = {
  url: string;
  port: number;
  messages: ParsedMail[];
  /** Resolves with the first message (already received or still to come) that matches. */
  waitFor: (match: (mail: ParsedMail) => boolean, timeoutMs?: number) => Promise<ParsedMail>;
  stop: () => Promise<void>;
};

/**
 * `replyDelayMs` holds each message that long before answering 250 (and before it counts as
 * received), so a sender is surely still waiting on it when a test stops the sender.
 */
export async function startSmtpSink(port = 0, options: { replyDelayMs?: number } = {}): Promise<Sink> {
  const messages: ParsedMail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    // The built-in STARTTLS certificate has expired; a local sink needs neither TLS nor AUTH.
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    // Pooled senders keep idle connections open; a test run should not wait 30 s for them on stop.
    closeTimeout: 100,
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => {
        const accept = () => {
          messages.push(mail);
          for (const wake of waiters) wake();
          callback();
        };
        if (options.replyDelayMs) setTimeout(accept, options.replyDelayMs);
        else accept();
      }, callback);
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  // A sender killed mid-conversation (the crash tests do that) resets its connection: not the sink's failure.
  server.on('error', () => {});
  const actualPort = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${actualPort}`,
    port: actualPort,
    messages,
    waitFor(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching email within ${timeoutMs} ms (received ${messages.length})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The reset link in an email's text part. */
export function resetLinkIn(mail: ParsedMail): string {
  const link = /https?:\/\/\S+\/reset-password\?token=[A-Za-z0-9_-]+/.exec(mail.text ?? '')?.[0];
  if (!link) throw new Error(`no reset link in email "${mail.subject}"`);
  return link;
}

/** The sign-up confirmation link in an email's text part. */
export function confirmationLinkIn(mail: { text?: string | false }): string {
  const link = /https?:\/\/\S+\/register\/confirm\?token=[A-Za-z0-9_-]+/.exec(mail.text || '')?.[0];
  if (!link) throw new Error('no confirmation link in the email');
  return link;
}

export const CONFIRM_SUBJECT = 'Confirm your email to create your Inkwell account';
export const ACCOUNT_EXISTS_SUBJECT = 'You already have an Inkwell account';

export function tokenOf(link: string): string {
  return new URL(link).searchParams.get('token')!;
}

export function recipients(mail: ParsedMail): string[] {
  const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
  return to.flatMap((group) => group.value.map((a) => a.address ?? ''));
}
