// Work that runs after the response: tracked, so graceful shutdown can wait for it.
import type { Response } from 'express';
import type { Logger } from '../log.ts';

export class BackgroundTasks {
  readonly #pending = new Set<Promise<void>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Starts `work` now and tracks it; a failure is logged, never thrown at the caller. */
  run(name: string, work: () => Promise<unknown>): void {
    const task = (async () => {
      try {
        await work();
      } catch (err) {
        this.#log.error({ task: name, error: describeError(err) }, 'background task failed');
      }
    })();
    this.#pending.add(task);
    void task.finally(() => this.#pending.delete(task));
  }

  /** Runs `work` once the response has gone out, so it can neither delay nor shape the answer. */
  afterResponse(res: Response, name: string, work: () => Promise<unknown>): void {
    res.once('finish', () => this.run(name, work));
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Waits for every task, including ones started meanwhile, until the deadline; returns how many were left. */
  async drain(deadlineMs: number): Promise<number> {
    const deadline = Date.now() + deadlineMs;
    while (this.#pending.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now())));
      await Promise.race([Promise.allSettled([...this.#pending]), timeout]);
      clearTimeout(timer);
    }
    return this.#pending.size;
  }
}

/** What is safe to log of an error: its kind, code and message, never the data it carried. */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const { code, responseCode, command } = err as Error & Record<string, unknown>;
  return { type: err.name, message: err.message, code, responseCode, command };
}
