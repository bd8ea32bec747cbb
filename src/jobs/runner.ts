// Runs durable jobs: woken right after a commit in this process, and sweeping for due jobs every few
// seconds, so the work of a crashed instance is picked up by any other once its lease runs out.
import { within } from '../deadline.ts';
import { describeError, LogThrottle, type Logger } from '../log.ts';
import type { EntityManager, Orm } from '../db/orm.ts';
import type { Counters } from '../metrics.ts';
import { bury, claim, deleteOld, finish, listenForJobs, retryLater, type ClaimedJob } from './queue.ts';

export type JobHandler = {
  run: (payload: any, em: EntityManager, job: ClaimedJob) => Promise<void>;
  /** Runs in a transaction that also ends the job, so its effects and the job's end commit together. */
  transactional?: boolean;
  /** Delete the row as soon as the job ends (done or dead): its payload must not outlive the work. */
  forget?: boolean;
  /** The email this job sends, if it sends one: logs say "mail" and the email metrics count it. */
  mail?: string;
};

export type RetryPolicy = { firstDelayMs: number; maxDelayMs: number; giveUpAfterMs: number };
// From 10 s doubling to 2 h between attempts, for about a day: ~20 attempts outlast most mail-server outages.
export const DEFAULT_RETRY: RetryPolicy = { firstDelayMs: 10_000, maxDelayMs: 2 * 3600_000, giveUpAfterMs: 24 * 3600_000 };

// A little longer than the mailer's connection + greeting + socket timeouts (80 s): a live sender
// always finishes or fails before its lease runs out; a dead one's jobs are due again after it.
export const LEASE_MS = 90_000;
// How often every instance looks for due jobs (retries, and the work of crashed instances).
const SWEEP_EVERY_MS = 5_000;
// A job due later than this after it is enqueued is left to the sweep rather than given its own timer.
const WAKE_AT_WITHIN_MS = 60_000;
// Jobs run at once per instance: above the mailer's 4 pooled connections, so composing overlaps sending.
const CONCURRENCY = 8;
// Finished jobs are kept a day (to see what was sent), dead ones a week (to see what never was).
const KEEP_FINISHED_MS = 24 * 3600_000;
const KEEP_DEAD_MS = 7 * 24 * 3600_000;

export type JobRunnerOptions = {
  orm: Orm;
  log: Logger;
  metrics: Counters;
  retry?: RetryPolicy;
  now?: () => Date;
};

export class JobRunner {
  readonly #orm: Orm;
  readonly #log: Logger;
  readonly #metrics: Counters;
  readonly #retry: RetryPolicy;
  readonly #now: () => Date;
  readonly #handlers = new Map<string, JobHandler>();
  readonly #inFlight = new Set<Promise<void>>();
  #sweeper: NodeJS.Timeout | undefined;
  #scheduled = false;
  #claiming: Promise<void> | null = null;
  #again = false;
  #stopping = false;
  #wakesWhileStopping = 0;
  // A claim filled every free slot: more may be due, so the next finished job wakes the runner.
  #backlog = false;
  // Jobs claimed so far: settle() looks again until a look claims nothing.
  #claimed = 0;
  // Jobs enqueued here to run later (a request's account-dependent work waits for a random moment):
  // a timer each, and the time it is due, so that a stop can run them at once.
  readonly #dueLater = new Map<NodeJS.Timeout, Date>();
  // While stopping: jobs due by then count as due now (set from #dueLater by stop()).
  #dueBy: Date | null = null;
  // A database outage would otherwise log one line per sweep.
  readonly #claimFailures = new LogThrottle(60_000);

  constructor(options: JobRunnerOptions) {
    this.#orm = options.orm;
    this.#log = options.log;
    this.#metrics = options.metrics;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#now = options.now ?? (() => new Date());
    listenForJobs(this.#orm.em, (at) => (at ? this.#wakeAt(at) : this.wake()));
  }

  register(handlers: Record<string, JobHandler>): void {
    for (const [kind, handler] of Object.entries(handlers)) this.#handlers.set(kind, handler);
  }

  /** Sweeps now and every few seconds. */
  start(): void {
    this.wake();
    this.#sweeper = setInterval(() => this.wake(), SWEEP_EVERY_MS);
    this.#sweeper.unref();
  }

  /** Looks for due jobs soon (coalesced: many wakes in one tick make one claim). */
  wake(): void {
    if (this.#stopping) this.#wakesWhileStopping++;
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#claimRound();
    });
  }

  #wakeAt(at: Date): void {
    const delay = Math.max(0, at.getTime() - Date.now());
    // Far-off jobs are the sweep's (a timer per job would pile up, and Node caps a timer at ~24 days).
    if (this.#stopping || delay > WAKE_AT_WITHIN_MS) return;
    const timer = setTimeout(() => {
      this.#dueLater.delete(timer);
      this.wake();
    }, delay);
    timer.unref();
    this.#dueLater.set(timer, at);
  }

  /**
   * Stops claiming new work except what jobs already running here lead to (the email a processed
   * request queues) and the work recorded here to run a little later (its answers are out, so it may
   * run now), and waits for the jobs in flight until the deadline. Returns how many were left; their
   * leases run out and another instance (or the next start) takes them over.
   */
  async stop(deadlineMs: number): Promise<number> {
    this.#stopping = true;
    clearInterval(this.#sweeper);
    if (this.#dueLater.size > 0) {
      this.#dueBy = new Date(Math.max(...[...this.#dueLater.values()].map((at) => at.getTime())));
      for (const timer of this.#dueLater.keys()) clearTimeout(timer);
      this.#wakesWhileStopping += this.#dueLater.size - 1; // and one for the wake below
      this.#dueLater.clear();
      this.wake();
    }
    return this.#waitUntilIdle(deadlineMs);
  }

  /** For tests: runs every due job (and what they queue) until a look finds nothing due. Returns what was left. */
  async settle(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const claimedBefore = this.#claimed;
      this.wake();
      const left = await this.#waitUntilIdle(deadline - Date.now());
      if (left === 0 && this.#claimed === claimedBefore) return 0;
    }
    return Math.max(1, this.#inFlight.size);
  }

  async #waitUntilIdle(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while ((this.#inFlight.size > 0 || this.#scheduled || this.#claiming) && Date.now() < deadline) {
      const tick = new Promise((resolve) => setImmediate(resolve));
      await within(Promise.allSettled([...this.#inFlight, this.#claiming ?? tick, tick]), deadline - Date.now());
    }
    return this.#inFlight.size;
  }

  /** One claim at a time per instance; a wake during it asks for another afterwards. */
  #claimRound(): Promise<void> {
    if (this.#claiming) {
      this.#again = true;
      return this.#claiming;
    }
    // `finally` runs after this assignment even when the claim ends without waiting (every slot busy):
    // clearing it inside the claim would run first and leave a settled claim here for good.
    this.#claiming = this.#claimWhileAsked().finally(() => {
      this.#claiming = null;
    });
    return this.#claiming;
  }

  async #claimWhileAsked(): Promise<void> {
    try {
      do {
        this.#again = false;
        let free = CONCURRENCY - this.#inFlight.size;
        if (this.#stopping) {
          free = Math.min(free, this.#wakesWhileStopping);
          this.#wakesWhileStopping = 0;
        }
        if (free <= 0) break;
        const now = this.#now();
        const due = this.#dueBy && this.#dueBy > now ? this.#dueBy : now;
        const jobs = await claim(this.#orm.em.fork(), due, new Date(now.getTime() + LEASE_MS), free);
        this.#claimed += jobs.length;
        for (const job of jobs) this.#track(job);
        // A full batch means more may be due: look again as soon as a slot frees up.
        if (jobs.length === free) this.#backlog = true;
      } while (this.#again);
    } catch (err) {
      this.#claimFailures.run('claim', (suppressed) =>
        this.#log.warn({ error: describeError(err), suppressed }, 'claiming jobs failed; will try again'),
      );
    }
  }

  #track(job: ClaimedJob): void {
    const running = this.#run(job).finally(() => {
      this.#inFlight.delete(running);
      if (this.#backlog && !this.#stopping) {
        this.#backlog = false;
        this.wake();
      }
    });
    this.#inFlight.add(running);
  }

  async #run(job: ClaimedJob): Promise<void> {
    const handler = this.#handlers.get(job.kind);
    const keep = !handler?.forget;
    try {
      if (!handler) throw new Error(`no handler for job kind "${job.kind}"`);
      if (handler.transactional) {
        await this.#orm.em.fork().transactional(async (tx) => {
          await handler.run(job.payload, tx, job);
          await finish(tx, job, this.#now(), keep);
        });
      } else {
        await handler.run(job.payload, this.#orm.em.fork(), job);
        await finish(this.#orm.em.fork(), job, this.#now(), keep);
      }
      this.#count(job, 'done');
      if (job.attempts > 1) this.#log.info({ ...this.#about(job) }, `${this.#noun(job)} after retry`);
    } catch (err) {
      await this.#failed(job, keep, err).catch((again: unknown) =>
        // The database is gone too: the lease runs out and the job is claimed again later.
        this.#log.warn({ ...this.#about(job), error: describeError(again) }, 'could not record a failed job'),
      );
    }
  }

  async #failed(job: ClaimedJob, keep: boolean, err: unknown): Promise<void> {
    const now = this.#now();
    const { firstDelayMs, maxDelayMs, giveUpAfterMs } = this.#retry;
    const delay = Math.min(firstDelayMs * 2 ** (job.attempts - 1), maxDelayMs);
    // ±25 % jitter: jobs that failed together (one mail-server outage) do not all come back together.
    const runAt = new Date(now.getTime() + delay * (0.75 + Math.random() * 0.5));
    const failure = { ...this.#about(job), error: describeError(err) };
    // The error says what went wrong (server, code), never what the job carried.
    if (runAt.getTime() - job.createdAt.getTime() > giveUpAfterMs) {
      await bury(this.#orm.em.fork(), job, now, keep);
      this.#count(job, 'dead');
      this.#log.error(failure, `${this.#failure(job)}; giving up`);
    } else {
      await retryLater(this.#orm.em.fork(), job, runAt);
      this.#count(job, 'retried');
      const retryInMs = runAt.getTime() - now.getTime();
      this.#log.warn({ ...failure, retry_in_ms: retryInMs, retry_at: runAt.toISOString() }, `${this.#failure(job)}; will retry`);
    }
  }

  #mailOf = (job: ClaimedJob) => this.#handlers.get(job.kind)?.mail;

  #about(job: ClaimedJob) {
    const mail = this.#mailOf(job);
    return mail ? { job: job.id, mail, attempt: job.attempts } : { job: job.id, kind: job.kind, attempt: job.attempts };
  }

  #noun = (job: ClaimedJob) => (this.#mailOf(job) ? 'mail sent' : 'job done');
  #failure = (job: ClaimedJob) => (this.#mailOf(job) ? 'mail not sent' : 'job failed');

  #count(job: ClaimedJob, outcome: 'done' | 'retried' | 'dead'): void {
    this.#metrics.jobs.inc({ kind: job.kind, outcome });
    const mail = this.#mailOf(job);
    if (mail) this.#metrics.emails.inc({ kind: mail, outcome: outcome === 'done' ? 'sent' : outcome });
  }

  /** Housekeeping: deletes finished jobs after a day and dead ones after a week; returns how many. */
  deleteOld(): Promise<number> {
    const now = this.#now().getTime();
    return deleteOld(this.#orm.em.fork(), new Date(now - KEEP_FINISHED_MS), new Date(now - KEEP_DEAD_MS));
  }
}

