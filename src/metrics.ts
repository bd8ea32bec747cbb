// Every Prometheus metric Inkwell exposes, declared in one place (served at /metrics, see src/web/metrics.ts).
// To add one: declare it below with `registers: [registry]`, then pass `metrics` to whatever counts it.
import { createRequire } from 'node:module';
import type { Counter } from 'prom-client';
import type { Orm } from './db/orm.ts';
import { pendingByKind } from './jobs/queue.ts';

export type Metrics = ReturnType<typeof createMetrics>;
/** What the app counts whether or not anyone can read it (the job runner, the limits). */
export type Counters = {
  emails: Pick<Counter<'kind' | 'outcome'>, 'inc'>;
  jobs: Pick<Counter<'kind' | 'outcome'>, 'inc'>;
  throttled: Pick<Counter<'limit'>, 'inc'>;
};

/**
 * The counters of an app nobody can read them from (no METRICS_TOKEN): they count nothing, and
 * prom-client is never loaded (~45 ms of a cold start, docs/benchmarks.md).
 */
export const unreadCounters: Counters = { emails: { inc() {} }, jobs: { inc() {} }, throttled: { inc() {} } };

/** One registry per app (tests build several apps in one process). `orm` feeds the gauges read at scrape time. */
export function createMetrics(orm: Orm, now: () => Date) {
  // Loaded here, not at start-up: only an app serving /metrics needs it (synchronous, as buildApp is).
  const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
  const registry = new Registry();
  // Node's own figures (event-loop delay, heap…) run a monitor: only when /metrics can be read.
  collectDefaultMetrics({ register: registry, prefix: 'inkwell_' });

  // Both queue gauges are collected together in a scrape: one query serves both.
  let snapshot: Promise<Awaited<ReturnType<typeof pendingByKind>>> | null = null;
  const queue = () => {
    snapshot ??= pendingByKind(orm.em.fork(), now()).finally(() => setImmediate(() => (snapshot = null)));
    return snapshot;
  };

  return {
    registry,

    /** Emails by kind (reset-instructions, …) and outcome: sent, retried (an attempt failed), dead (given up). */
    emails: new Counter({
      name: 'inkwell_emails_total',
      help: 'Emails by kind and outcome (sent, retried, dead)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),

    /** Every durable job (emails included, as email:<kind>) by outcome: done, retried, dead. */
    jobs: new Counter({
      name: 'inkwell_jobs_total',
      help: 'Durable jobs by kind and outcome (done, retried, dead)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),

    /** Requests refused by a limit (per-IP limiters, the per-email login throttle, the argon2 queue). */
    throttled: new Counter({
      name: 'inkwell_throttled_total',
      help: 'Requests refused by a limit, by limit name',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),

    httpDuration: new Histogram({
      name: 'inkwell_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),

    outboxDepth: new Gauge({
      name: 'inkwell_outbox_depth',
      help: 'Jobs not yet done or dead, by kind (email:* are emails; password-reset-request are accepted requests)',
      labelNames: ['kind'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const { kind, pending } of await queue()) this.set({ kind }, pending);
      },
    }),

    outboxOldestDue: new Gauge({
      name: 'inkwell_outbox_oldest_due_age_seconds',
      help: 'Age of the oldest job that is due and not yet done, by kind (0 when none is due)',
      labelNames: ['kind'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const at = now().getTime();
        for (const { kind, oldestDue } of await queue()) this.set({ kind }, oldestDue ? Math.max(0, (at - oldestDue.getTime()) / 1000) : 0);
      },
    }),
  };
}
