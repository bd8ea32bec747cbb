// A real SMTP server in the test process: nodemailer sends to it over TCP, mailparser reads what arrived.
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { PATIENCE_MS } from './net.ts';

export type Sink = {
  url: string;
  port: number;
  messages: ParsedMail[];
  /** Resolves with the first message (already received or still to come) that matches. */
  waitFor: (match: (mail: ParsedMail) => boolean, timeoutMs?: number) => Promise<ParsedMail>;
  /** While refusing, every connection is turned away with 421, as a mail server that is down for a while does. */
  refuse: (refusing: boolean) => void;
  stop: () => Promise<void>;
};

export type SinkOptions = {
  /**
   * Holds each message that long before answering 250 (and before it counts as received), so a
   * sender is surely still waiting on it when a test stops the sender.
   */
  replyDelayMs?: number;
  /** Start refusing (see `refuse`): "the mail server is down", on a port that stays ours throughout. */
  refusing?: boolean;
};

/** Listens on a port the kernel picks (port 0) and reports it in `url` and `port`. */
export async function startSmtpSink(options: SinkOptions = {}): Promise<Sink> {
  const messages: ParsedMail[] = [];
  const waiters = new Set<() => void>();
  let refusing = options.refusing ?? false;
  const server = new SMTPServer({
    // The built-in STARTTLS certificate has expired; a local sink needs neither TLS nor AUTH.
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      if (!refusing) return callback();
      callback(Object.assign(new Error('Service not available, try again later'), { responseCode: 421 }));
    },
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
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // A sender killed mid-conversation (the crash tests do that) resets its connection: not the sink's failure.
  server.on('error', () => {});
  const actualPort = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${actualPort}`,
    port: actualPort,
    messages,
    waitFor(match, timeoutMs = PATIENCE_MS) {
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
    refuse(value) {
      refusing = value;
      // A server that goes down drops its open connections too (a pooled sender keeps one open).
      type Connection = { send: (code: number, text: string) => void; close: () => void };
      if (!refusing) return;
      for (const connection of (server as unknown as { connections: Set<Connection> }).connections) {
        connection.send(421, 'Service not available, closing the connection');
        connection.close();
      }
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

/** The link to `path` (with its token) in an email's text part. */
export function linkIn(mail: ParsedMail, path: string): string {
  const link = new RegExp(`https?://\\S+${path}\\?token=[A-Za-z0-9_-]+`).exec(mail.text ?? '')?.[0];
  if (!link) throw new Error(`no ${path} link in email "${mail.subject}"`);
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
