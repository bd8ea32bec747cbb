// Where an account is signed in: its live sessions, shown and ended by their public ids.
import type { Orm } from '../db/orm.ts';
import { Session } from '../db/entities.ts';
import { liveSessions } from '../db/session-store.ts';
import type { createActivity } from './activity.ts';
import { describeDevice, type Client } from './clients.ts';

export type SessionInfo = {
  id: string;
  current: boolean;
  device: string;
  ip: string | null;
  createdAt: Date;
  lastSeenAt: Date;
};

type Deps = { orm: Orm; now: () => Date; activity: ReturnType<typeof createActivity> };

export function createSessions({ orm, now, activity }: Deps) {
  const em = () => orm.em.fork();

  /** The user's live sessions, most recently active first. */
  async function list(userId: number, currentId: string | undefined): Promise<SessionInfo[]> {
    const rows = await em().find(
      Session,
      { user: userId, ...liveSessions(now()) },
      { orderBy: { lastSeenAt: 'desc', createdAt: 'desc' }, fields: ['publicId', 'ip', 'userAgent', 'createdAt', 'lastSeenAt'] },
    );
    return rows.map((row) => ({
      id: row.publicId,
      current: row.publicId === currentId,
      device: describeDevice(row.userAgent ?? null),
      ip: row.ip ?? null,
      createdAt: row.createdAt,
      lastSeenAt: row.lastSeenAt,
    }));
  }

  /** Ends one of the user's own sessions, on record with it; another user's id is simply not found. */
  async function end(userId: number, publicId: string, client: Client | null = null): Promise<boolean> {
    return em().transactional(async (tx) => {
      if ((await tx.nativeDelete(Session, { user: userId, publicId })) !== 1) return false;
      await activity.record(userId, 'session_revoked', client, tx);
      return true;
    });
  }

  /** Ends every session of the user except the one asking, on record with it; returns how many ended. */
  function endOthers(userId: number, currentId: string, client: Client | null = null): Promise<number> {
    return em().transactional(async (tx) => {
      const ended = await tx.nativeDelete(Session, { user: userId, publicId: { $ne: currentId } });
      if (ended > 0) await activity.record(userId, 'session_revoked', client, tx);
      return ended;
    });
  }

  return { list, end, endOthers };
}
