// Sends mail: the only importer of nodemailer. SMTP when SMTP_URL is set, else the dev outbox.
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from '../log.ts';
import { describeError, type BackgroundTasks } from './background.ts';

export type Message = { to: string; subject: string; text: string; html: string };
export type OutboxEntry = Message & { id: number; from: string; date: Date };

export type RetryPolicy = { attempts: number; firstDelayMs: number };
// Six attempts, doubling from 1 s: a mail server that is back within ~30 s loses nothing.
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, firstDelayMs: 1000 };

const OUTBOX_SIZE = 50;

export type MailerOptions = {
  smtpUrl: string | undefined;
  from: string;
  log: Logger;
  tasks: BackgroundTasks;
  retry?: RetryPolicy;
};

export class Mailer {
  /** Messages kept in memory when no SMTP server is configured (development only), newest first. */
  readonly outbox: OutboxEntry[] | null;
  readonly #transport: Transporter;
  readonly #from: string;
  readonly #log: Logger;
  readonly #tasks: BackgroundTasks;
  readonly #retry: RetryPolicy;
  #nextId = 1;

  constructor(options: MailerOptions) {
    this.#from = options.from;
    this.#log = options.log;
    this.#tasks = options.tasks;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.outbox = options.smtpUrl ? null : [];
    // smtp:// upgrades with STARTTLS when the server offers it; smtps:// is TLS from the first byte.
    this.#transport = options.smtpUrl
      ? nodemailer.createTransport({ url: options.smtpUrl, pool: true, maxConnections: 4 })
      : nodemailer.createTransport({ jsonTransport: true });
  }

  /** Queues a message in the background; it is retried with backoff and every failure is logged. */
  deliver(message: Message, kind: string): void {
    this.#tasks.run(`mail:${kind}`, () => this.#sendWithRetry(message, kind));
  }

  async #sendWithRetry(message: Message, kind: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#send(message);
        if (attempt > 1) this.#log.info({ mail: kind, attempt }, 'mail sent after retry');
        return;
      } catch (err) {
        // The error says what went wrong with the server, never what the message said.
        const last = attempt >= this.#retry.attempts;
        this.#log[last ? 'error' : 'warn']({ mail: kind, attempt, error: describeError(err) },
          last ? 'mail not sent; giving up' : 'mail not sent; will retry');
        if (last) return;
        await sleep(this.#retry.firstDelayMs * 2 ** (attempt - 1));
      }
    }
  }

  async #send(message: Message): Promise<void> {
    // An address object, not a string: nodemailer never splits it into several recipients.
    await this.#transport.sendMail({
      from: this.#from,
      to: { name: '', address: message.to },
      subject: message.subject,
      text: message.text,
      html: message.html,
    });
    if (this.outbox) {
      this.outbox.unshift({ ...message, id: this.#nextId++, from: this.#from, date: new Date() });
      this.outbox.length = Math.min(this.outbox.length, OUTBOX_SIZE);
    }
  }

  close(): void {
    this.#transport.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
