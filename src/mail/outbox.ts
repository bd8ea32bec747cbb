// The outbox: every email is a durable job `email:<kind>` whose payload holds ids only. The message is
// composed when it is sent, so no link (and no token) ever rests in the database.
import type { EntityManager } from '../db/orm.ts';
import { enqueue } from '../jobs/queue.ts';
import type { JobHandler } from '../jobs/runner.ts';
import type { Mailer, Message } from './mailer.ts';

/**
 * Builds one email when it is sent (again on every retry). Returns null when there is nothing to send
 * any more, e.g. the account was deleted meanwhile: the job then ends without mail.
 */
export type Composer<Payload> = (payload: Payload, em: EntityManager) => Promise<Message | null>;

/**
 * Queues an email. Pass the transaction's EntityManager: the email exists if and only if the change
 * it reports commits, and the sender is woken right after the commit.
 */
export function queueEmail(em: EntityManager, kind: string, payload: object): Promise<number> {
  return enqueue(em, `email:${kind}`, payload);
}

/**
 * One job handler per email kind: compose, then send; a failure is retried by the runner. The kinds in
 * `forget` carry personal data in their payload (addresses): their row is deleted as soon as they end.
 */
export function emailJobs(composers: Record<string, Composer<any>>, mailer: Mailer, forget: readonly string[] = []): Record<string, JobHandler> {
  return Object.fromEntries(
    Object.entries(composers).map(([kind, compose]): [string, JobHandler] => [
      `email:${kind}`,
      {
        mail: kind,
        forget: forget.includes(kind),
        async run(payload, em) {
          const message = await compose(payload, em);
          if (message) await mailer.send(message);
        },
      },
    ]),
  );
}
