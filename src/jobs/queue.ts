// The job table's statements: enqueue inside the caller's transaction, claim with a lease, finish, retry, bury.
// Hand-written rather than a queue library: none runs on both SQLite and Postgres inside MikroORM's transaction.
import type { EventManager } from '@mikro-orm/core';
// The base of @mikro-orm/postgresql's platform: importing that package would load the Postgres dialect on SQLite too.
import { BasePostgreSqlPlatform } from '@mikro-orm/sql';
import { fromDatabaseDate, toDatabaseDate } from '../db/dates.ts';
import type { EntityManager } from '../db/orm.ts';
import { Job } from '../db/entities.ts';

/** A claimed job, as its handler and the runner see it. */
export type ClaimedJob = { id: number; kind: string; payload: unknown; attempts: number; createdAt: Date };

export type EnqueueOptions = {
  /** Not before this time (default: now). */
  runAt?: Date;
  /**
   * `false` leaves the wake-up to the caller, e.g. until the HTTP answer has gone out, so that no
   * account-dependent work can run beside the response. Default: wake right after the commit.
   */
  wake?: boolean;
};

// Set by each JobRunner for the ORM it serves, so `enqueue` can wake it without importing it.
const wakers = new WeakMap<EventManager, () => void>();
// Transactions that enqueued something: their commit wakes the runner (until then, no one else sees the row).
const enqueuedIn = new WeakSet<EntityManager>();

/**
 * Records a job. Pass the transaction's EntityManager to make the job part of a change: it exists
 * if and only if the change commits.
 */
export async function enqueue(em: EntityManager, kind: string, payload: object, options: EnqueueOptions = {}): Promise<number> {
  const at = new Date();
  const id = await em.insert(Job, {
    kind,
    payload: JSON.stringify(payload),
    attempts: 0,
    runAt: options.runAt ?? at,
    createdAt: at,
  });
  if (options.wake !== false) {
    if (em.isInTransaction()) enqueuedIn.add(em);
    else wakers.get(em.getEventManager())?.();
  }
  return Number(id);
}

/** Called by a runner: wake me when a job is enqueued outside a transaction, or its transaction commits. */
export function listenForJobs(em: EntityManager, wake: () => void): void {
  wakers.set(em.getEventManager(), wake);
  em.getEventManager().registerSubscriber({
    afterTransactionCommit: ({ em: committed }) => {
      if (enqueuedIn.delete(committed as EntityManager)) wake();
    },
  });
}

/**
 * Claims up to `limit` due jobs in one statement: each gets one more attempt and is hidden until
 * `leaseUntil`. A claimer that dies simply lets its lease run out, and any instance claims the job again.
 * On Postgres, SKIP LOCKED lets concurrent claimers pass each other's rows instead of waiting for them;
 * SQLite has one writer at a time, so the same statement without the lock is already exclusive.
 */
export async function claim(em: EntityManager, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedJob[]> {
  const postgres = em.getPlatform() instanceof BasePostgreSqlPlatform;
  const rows = await em.execute<Record<string, unknown>[]>(
    `update job set run_at = ?, attempts = attempts + 1
     where id in (
       select id from job
       where finished_at is null and dead_at is null and run_at <= ?
       order by run_at limit ?${postgres ? ' for update skip locked' : ''}
     )
     returning id, kind, payload, attempts, created_at`,
    [toDatabaseDate(em, leaseUntil), toDatabaseDate(em, now), limit],
    'all',
  );
  return rows.map((row) => ({
    id: Number(row.id),
    kind: String(row.kind),
    payload: JSON.parse(String(row.payload)),
    attempts: Number(row.attempts),
    createdAt: fromDatabaseDate(row.created_at),
  }));
}

/** Done: kept until `deleteFinishedBefore` (or deleted now, for jobs whose payload must not outlive them). */
export async function finish(em: EntityManager, job: ClaimedJob, at: Date, keep: boolean): Promise<void> {
  if (keep) await em.nativeUpdate(Job, { id: job.id, finishedAt: null }, { finishedAt: at });
  else await em.nativeDelete(Job, { id: job.id });
}

/**
 * Failed: due again at `runAt`. Only while the claim is still ours (same attempt count): a claimer
 * whose lease ran out must not move another instance's claim.
 */
export async function retryLater(em: EntityManager, job: ClaimedJob, runAt: Date): Promise<void> {
  await em.nativeUpdate(Job, { id: job.id, attempts: job.attempts, finishedAt: null }, { runAt });
}

/** Given up on: never claimed again; kept for a while for operators (or deleted now, as `finish`). */
export async function bury(em: EntityManager, job: ClaimedJob, at: Date, keep: boolean): Promise<void> {
  if (keep) await em.nativeUpdate(Job, { id: job.id, attempts: job.attempts, finishedAt: null }, { deadAt: at });
  else await em.nativeDelete(Job, { id: job.id, attempts: job.attempts });
}

/** Housekeeping: finished jobs older than `finishedBefore`, dead ones older than `deadBefore`. */
export async function deleteOld(em: EntityManager, finishedBefore: Date, deadBefore: Date): Promise<number> {
  return (
    (await em.nativeDelete(Job, { finishedAt: { $lte: finishedBefore } })) +
    (await em.nativeDelete(Job, { deadAt: { $lte: deadBefore } }))
  );
}

/** Per kind: jobs not finished nor dead, and the creation time of the oldest one now due (for /metrics). */
export async function pendingByKind(em: EntityManager, now: Date): Promise<{ kind: string; pending: number; oldestDue: Date | null }[]> {
  const rows = await em.execute<Record<string, unknown>[]>(
    `select kind, count(*) as pending, min(case when run_at <= ? then created_at end) as oldest_due
     from job where finished_at is null and dead_at is null group by kind`,
    [toDatabaseDate(em, now)],
    'all',
  );
  return rows.map((row) => ({
    kind: String(row.kind),
    pending: Number(row.pending),
    oldestDue: row.oldest_due == null ? null : fromDatabaseDate(row.oldest_due),
  }));
}

