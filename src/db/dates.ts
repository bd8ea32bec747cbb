// Dates in hand-written SQL (the job queue, the limits), in each dialect's stored form (STACK-NOTES §1:
// SQLite keeps the ORM's dates as epoch milliseconds; mixing in text dates would break comparisons).
import type { EntityManager } from './orm.ts';

/** The value to bind for a datetime column, exactly as the ORM itself would write it. */
export function toDatabaseDate(em: Pick<EntityManager, 'getPlatform'>, date: Date): unknown {
  return em.getPlatform().processDateProperty(date);
}

/** A datetime column read by raw SQL: epoch ms on SQLite, a timestamp (or its text) on Postgres. */
export function fromDatabaseDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : (value as string | number));
}
