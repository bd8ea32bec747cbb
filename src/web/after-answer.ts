// What happens once an answer has gone out, so that it can neither delay nor shape the answer: the
// job runner is woken for work recorded before the answer, and the security activity log (not worth a
// durable job) is written. A failure is logged, never shown; a stop and the tests can wait for it.
import type { Response } from 'express';
import type { JobRunner } from '../jobs/runner.ts';
import { within } from '../deadline.ts';
import { describeError, type Logger } from '../log.ts';

export class AfterAnswer {
  readonly #pending = new Set<Promise<void>>();
  readonly #log: Logger;
  readonly #jobs: JobRunner;

  constructor(log: Logger, jobs: JobRunner) {
    this.#log = log;
    this.#jobs = jobs;
  }

  /** Starts the work recorded before the answer (enqueued with `wake: false`) once the answer is out. */
  wakeJobs(res: Response): void {
    res.once('finish', () => this.#jobs.wake());
  }

  run(res: Response, name: string, work: () => Promise<unknown>): void {
    res.once('finish', () => {
      const task = work().then(
        () => {},
        (err: unknown) => this.#log.warn({ task: name, error: describeError(err) }, 'work after the answer failed'),
      );
      this.#pending.add(task);
      void task.finally(() => this.#pending.delete(task));
    });
  }

  /** Waits for what is running (and what starts meanwhile) until the deadline; returns how much was left. */
  async settle(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.size > 0 && Date.now() < deadline) {
      await within(Promise.allSettled([...this.#pending]), deadline - Date.now());
    }
    return this.#pending.size;
  }
}
