// An express-rate-limit store on the application's own database, so every instance counts together
// and a restart forgets nothing. One row per limiter and client, one atomic statement per hit.
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Orm } from '../db/orm.ts';
import { RateLimitHit } from '../db/entities.ts';
import { fromDatabaseDate, toDatabaseDate } from '../db/dates.ts';

export class DatabaseRateLimitStore implements Store {
  // Counters in the database are seen by every instance: express-rate-limit's double-count check needs to know.
  readonly localKeys = false;
  readonly prefix: string;
  readonly #orm: Orm;
  readonly #now: () => Date;
  #windowMs = 60_000;

  /** `name` keeps each limiter's counters apart (one store instance per limiter). */
  constructor(orm: Orm, name: string, now: () => Date = () => new Date()) {
    this.#orm = orm;
    this.prefix = `${name}:`;
    this.#now = now;
  }

  init(options: Options): void {
    this.#windowMs = options.windowMs;
  }

  /**
   * Counts a hit in one INSERT … ON CONFLICT … DO UPDATE … RETURNING: no read-modify-write race
   * between instances, no table lock. A window that has passed starts over at 1.
   */
  async increment(key: string): Promise<ClientRateLimitInfo> {
    const now = this.#now();
    const resetsAt = new Date(now.getTime() + this.#windowMs);
    const [at, until] = [toDatabaseDate(this.#orm.em, now), toDatabaseDate(this.#orm.em, resetsAt)];
    const row = await this.#orm.em.getConnection().execute<{ hits: number; resets_at: unknown }>(
      `insert into rate_limit_hit (bucket, hits, resets_at) values (?, 1, ?)
       on conflict (bucket) do update set
         hits = case when rate_limit_hit.resets_at <= ? then 1 else rate_limit_hit.hits + 1 end,
         resets_at = case when rate_limit_hit.resets_at <= ? then excluded.resets_at else rate_limit_hit.resets_at end
       returning hits, resets_at`,
      [this.#bucket(key), until, at, at],
      'get',
    );
    return { totalHits: Number(row.hits), resetTime: fromDatabaseDate(row.resets_at) };
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const row = await this.#em().findOne(RateLimitHit, { bucket: this.#bucket(key), resetsAt: { $gt: this.#now() } });
    return row ? { totalHits: row.hits, resetTime: row.resetsAt } : undefined;
  }

  async decrement(key: string): Promise<void> {
    await this.#orm.em.getConnection().execute(
      'update rate_limit_hit set hits = hits - 1 where bucket = ? and hits > 0',
      [this.#bucket(key)],
      'run',
    );
  }

  async resetKey(key: string): Promise<void> {
    await this.#em().nativeDelete(RateLimitHit, { bucket: this.#bucket(key) });
  }

  #bucket(key: string): string {
    return this.prefix + key;
  }

  #em() {
    return this.#orm.em.fork();
  }
}

/** Housekeeping: a counter whose window has passed counts nothing any more. */
export function deleteExpiredHits(orm: Orm, now: Date): Promise<number> {
  return orm.em.fork().nativeDelete(RateLimitHit, { resetsAt: { $lte: now } });
}
