// The express-session store: one row per session, in the application's own database, keyed by a
// hash of the session id so that whoever reads a backup cannot use the sessions in it.
import { createHash, randomBytes } from 'node:crypto';
import session from 'express-session';
import type { Orm } from './orm.ts';
import { Session } from './entities.ts';

// Two weeks of "remember me" at most; a password change or reset ends them sooner.
export const SESSION_TTL_MS = 14 * 24 * 3600_000;
// A session nobody used for a week ends, even inside its two weeks.
export const SESSION_IDLE_MS = 7 * 24 * 3600_000;
// "Last active" is this coarse, so that a page view almost never writes the session row.
export const SESSION_SEEN_EVERY_MS = 5 * 60_000;

declare module 'express-session' {
  interface SessionData {
    userId: number;
    /** The user's credential version when this session logged in; older means logged out. */
    credentialVersion: number;
    /** The opaque id its owner sees and revokes it by; never the session id. */
    publicId: string;
    /** The client as it was when the session opened: truncated address, User-Agent. */
    ip: string | null;
    userAgent: string | null;
    /** When and how this session signed in (src/accounts/sign-in.ts), e.g. ['password', 'totp']. */
    authenticatedAt: number;
    authMethods: string[];
    /** Until when "confirm it's you" holds (epoch ms; not sliding). */
    confirmedUntil: number;
    /** A sign-in waiting for its second step: signed in for no route until it completes. */
    pendingSignIn: number;
  }
}

type Callback<T = void> = (err?: unknown, value?: T) => void;

/** What is stored for a session id: its SHA-256, never the id itself. */
export function hashSessionId(sid: string): string {
  return createHash('sha256').update(sid).digest('hex');
}

/** The rows of sessions still in force: inside their two weeks, and used within the last week. */
export function liveSessions(at: Date) {
  return { expiresAt: { $gt: at }, lastSeenAt: { $gt: new Date(at.getTime() - SESSION_IDLE_MS) } };
}

export function newPublicSessionId(): string {
  return randomBytes(16).toString('base64url');
}

export class DatabaseSessionStore extends session.Store {
  readonly #orm: Orm;
  readonly #now: () => Date;

  constructor(orm: Orm, now: () => Date = () => new Date()) {
    super();
    this.#orm = orm;
    this.#now = now;
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    this.#load(hashSessionId(sid)).then((data) => callback(null, data), callback);
  }

  async #load(sidHash: string): Promise<session.SessionData | null> {
    const em = this.#orm.em.fork();
    const now = this.#now();
    const row = await em.findOne(Session, { sidHash, ...liveSessions(now) });
    if (!row) return null;
    if (row.lastSeenAt.getTime() <= now.getTime() - SESSION_SEEN_EVERY_MS) {
      await em.nativeUpdate(Session, { sidHash }, { lastSeenAt: now });
    }
    return JSON.parse(row.data) as session.SessionData;
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    const now = this.#now();
    this.#orm.em
      .fork()
      .upsert(
        Session,
        {
          sidHash: hashSessionId(sid),
          publicId: data.publicId ?? newPublicSessionId(),
          user: data.userId ?? null,
          data: JSON.stringify(data),
          ip: data.ip ?? null,
          userAgent: data.userAgent ?? null,
          createdAt: now,
          lastSeenAt: now,
          expiresAt: this.#expiry(data, now),
        },
        // A session keeps the public id and opening time it was created with.
        { onConflictExcludeFields: ['publicId', 'createdAt'] },
      )
      .then(() => callback?.(), (err) => callback?.(err));
  }

  /**
   * Sessions have an absolute lifetime (the cookie is not rolling), so a request that changes
   * nothing writes nothing here; "last active" is kept by `get`, at most once per interval.
   */
  override touch(_sid: string, _data: session.SessionData, callback?: Callback): void {
    callback?.();
  }

  override destroy(sid: string, callback?: Callback): void {
    const em = this.#orm.em.fork();
    em.nativeDelete(Session, { sidHash: hashSessionId(sid) }).then(() => callback?.(), (err) => callback?.(err));
  }

  /** Deletes sessions past their expiry or idle for too long; returns how many. */
  pruneExpired(now = this.#now()): Promise<number> {
    return this.#orm.em.fork().nativeDelete(Session, { $not: liveSessions(now) });
  }

  #expiry(data: session.SessionData, now: Date): Date {
    return data.cookie?.expires ? new Date(data.cookie.expires) : new Date(now.getTime() + SESSION_TTL_MS);
  }
}
