// Work that follows an answer but is not worth a durable job (the security activity log): it starts
// once the answer is out, so it can neither delay nor shape it, and a failure is logged, never shown.
// Tracked, so that a stop and the tests can wait for it.
import type { Response } from 'express';
import type { Logger } from '../log.ts';

export class AfterAnswer {
  readonly #pending = new Set<Promise<void>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  run(res: Response, name: string, work: () => Promise<unknown>): void {
    res.once('finish', () => {
      const task = work().then(
        () => {},
        (err: Error) => this.#log.warn({ task: name, error: { type: err.name, message: err.message } }, 'work after the answer failed'),
      );
      this.#pending.add(task);
      void task.finally(() => this.#pending.delete(task));
    });
  }

  /** Waits for what is running (and what starts meanwhile) until the deadline; returns how much was left. */
  async settle(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now())));
      await Promise.race([Promise.allSettled([...this.#pending]), timeout]);
      clearTimeout(timer);
    }
    return this.#pending.size;
  }
}
