// Where an account is signed in: its live sessions, shown and ended by their public ids.
import type { Orm } from '../db/orm.ts';
import { Session } from '../db/entities.ts';
import { liveSessions } from '../db/session-store.ts';
import { describeDevice } from './clients.ts';

export type SessionInfo = {
  id: string;
  current: boolean;
  device: string;
  ip: string | null;
  createdAt: Date;
  lastSeenAt: Date;
};

export function createSessions({ orm, now }: { orm: Orm; now: () => Date }) {
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

  /** Ends one of the user's own sessions; another user's id is simply not found. */
  async function end(userId: number, publicId: string): Promise<boolean> {
    return (await em().nativeDelete(Session, { user: userId, publicId })) === 1;
  }

  /** Ends every session of the user except the one asking; returns how many ended. */
  function endOthers(userId: number, currentId: string): Promise<number> {
    return em().nativeDelete(Session, { user: userId, publicId: { $ne: currentId } });
  }

  return { list, end, endOthers };
}
