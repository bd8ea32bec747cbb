// Requests whose answer must not tell whether an account exists (forgot password, sign-up, a failed
// sign-in; sign-in links next): recorded before the answer by one insert that is the same for every
// address, and their account-dependent work done by a job that starts at a random moment a few
// seconds later. Not when the answer goes out: work that starts then (an email for a real account,
// nothing for an unknown one) lands on whatever request comes next, and that answer's timing would
// tell (the bench's "next request, by previous class"). Started at a random moment, it lands on no
// request in particular. A crash loses nothing: the job is durable, and any instance sweeps it up.
import { randomInt } from 'node:crypto';
import type { EntityManager } from '../db/orm.ts';
import { enqueue } from '../jobs/queue.ts';

/**
 * When the work may start, after the request was recorded. The lower bound keeps it after the answer
 * (an answer takes milliseconds); the spread is what hides it: a next request comes within tens of
 * milliseconds, so only about one in a hundred lands where one job's work does. A few seconds more
 * for an email nobody is staring at the inbox for yet.
 */
export const WORK_DELAY_MS = { min: 1_000, max: 4_000 } as const;

/** How long to wait before a recorded request's work; tests pass `() => 0` (the work starts when the answer is out). */
export type WorkDelay = () => number;

export const randomWorkDelay: WorkDelay = () => randomInt(WORK_DELAY_MS.min, WORK_DELAY_MS.max + 1);

/**
 * Records a request: one insert whose cost does not depend on the account. With no delay the caller
 * wakes the job runner once the answer is out (AfterAnswer.wakeJobs); with one, the job is due then.
 */
export async function recordRequest(em: EntityManager, kind: string, payload: object, delayMs: number): Promise<void> {
  await enqueue(em, kind, payload, delayMs > 0 ? { runAt: new Date(Date.now() + delayMs) } : { wake: false });
}
