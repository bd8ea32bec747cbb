// The express-session store: one row per session, in the application's own database.
import session from 'express-session';
import type { Orm } from './orm.ts';
import { Session } from './entities.ts';

declare module 'express-session' {
  interface SessionData {
    userId: number;
    /** The user's credential version when this session logged in; older means logged out. */
    credentialVersion: number;
  }
}

type Callback<T = void> = (err?: unknown, value?: T) => void;

export class DatabaseSessionStore extends session.Store {
  readonly #orm: Orm;
  readonly #ttlMs: number;

  constructor(orm: Orm, ttlMs: number) {
    super();
    this.#orm = orm;
    this.#ttlMs = ttlMs;
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    const em = this.#orm.em.fork();
    em.findOne(Session, { sid, expiresAt: { $gt: new Date() } }).then(
      (row) => callback(null, row ? (JSON.parse(row.data) as session.SessionData) : null),
      callback,
    );
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    const em = this.#orm.em.fork();
    em.upsert(Session, {
      sid,
      user: data.userId ?? null,
      data: JSON.stringify(data),
      expiresAt: this.#expiry(data),
    }).then(() => callback?.(), (err) => callback?.(err));
  }

  /**
   * Sessions have an absolute lifetime (the cookie is not rolling), so a request that changes
   * nothing writes nothing: no database write per page view.
   */
  override touch(_sid: string, _data: session.SessionData, callback?: Callback): void {
    callback?.();
  }

  override destroy(sid: string, callback?: Callback): void {
    const em = this.#orm.em.fork();
    em.nativeDelete(Session, { sid }).then(() => callback?.(), (err) => callback?.(err));
  }

  /** Deletes sessions past their expiry; returns how many. */
  pruneExpired(now = new Date()): Promise<number> {
    return this.#orm.em.fork().nativeDelete(Session, { expiresAt: { $lte: now } });
  }

  #expiry(data: session.SessionData): Date {
    return data.cookie?.expires ? new Date(data.cookie.expires) : new Date(Date.now() + this.#ttlMs);
  }
}
