// What happens once an answer has gone out, so that it can neither delay nor shape the answer: the job
// runner is woken for work recorded before the answer. Nothing else runs here: an event is recorded
// in the domain, with the change it describes (or, for a failed sign-in, as a recorded request), so a
// crash after the answer cannot lose it (docs/accounts.md, "Nothing after the answer tells either").
import type { Response } from 'express';
import type { JobRunner } from '../jobs/runner.ts';

export class AfterAnswer {
  readonly #jobs: JobRunner;

  constructor(jobs: JobRunner) {
    this.#jobs = jobs;
  }

  /** Starts the work recorded before the answer (enqueued with `wake: false`) once the answer is out. */
  wakeJobs(res: Response): void {
    res.once('finish', () => this.#jobs.wake());
  }
}
