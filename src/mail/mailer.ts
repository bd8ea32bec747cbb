// Sends mail: the only importer of nodemailer. SMTP when SMTP_URL is set, else the dev mailbox.
// Retries are not here: every email is a durable job (src/jobs/), retried with backoff by the runner.
import type { Transporter } from 'nodemailer';

export type Message = { to: string; subject: string; text: string; html: string };
export type MailboxEntry = Message & { id: number; from: string; date: Date };

const MAILBOX_SIZE = 50;

// Explicit, and short next to nodemailer's 10-minute socket default: a hung mail server fails the
// attempt (to be retried) well within the job's lease (src/jobs/runner.ts, 90 s > 20 + 15 + 45 s).
const SMTP_TIMEOUTS = { connectionTimeout: 20_000, greetingTimeout: 15_000, socketTimeout: 45_000 } as const;

export type MailerOptions = { smtpUrl: string | undefined; from: string };

export class Mailer {
  /** Messages kept in memory when no SMTP server is configured (development only), newest first. */
  readonly mailbox: MailboxEntry[] | null;
  readonly #smtpUrl: string | undefined;
  #transport: Promise<Transporter> | undefined;
  readonly #from: string;
  #nextId = 1;

  constructor(options: MailerOptions) {
    this.#from = options.from;
    this.mailbox = options.smtpUrl ? null : [];
    this.#smtpUrl = options.smtpUrl;
  }

  // nodemailer is loaded at the first send, not at start-up (~70 ms of a cold start, docs/benchmarks.md).
  // Nothing is lost by waiting: a transport connects only when it sends, and SMTP_URL is checked by
  // the configuration at start.
  #transporter(): Promise<Transporter> {
    const smtpUrl = this.#smtpUrl;
    return (this.#transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      // smtp:// upgrades with STARTTLS when the server offers it; smtps:// is TLS from the first byte.
      smtpUrl
        ? nodemailer.createTransport({ url: smtpUrl, pool: true, maxConnections: 4, ...SMTP_TIMEOUTS })
        : nodemailer.createTransport({ jsonTransport: true })));
  }

  /** Resolves once the mail server accepted the message; rejects with its error otherwise. */
  async send(message: Message): Promise<void> {
    // An address object, not a string: nodemailer never splits it into several recipients.
    const transport = await this.#transporter();
    await transport.sendMail({
      from: this.#from,
      to: { name: '', address: message.to },
      subject: message.subject,
      text: message.text,
      html: message.html,
    });
    if (this.mailbox) {
      this.mailbox.unshift({ ...message, id: this.#nextId++, from: this.#from, date: new Date() });
      this.mailbox.length = Math.min(this.mailbox.length, MAILBOX_SIZE);
    }
  }

  close(): void {
    // A transport still loading is closed once loaded; one never made has nothing to close.
    void this.#transport?.then((transport) => transport.close(), () => {});
  }
}
