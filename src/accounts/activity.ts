// The account's security activity: what happened, when, from which device and address range.
// Rows hold no secret: a kind, a time, a truncated address and a device summary.
import { raw } from '@mikro-orm/core';
import type { EntityManager, Orm } from '../db/orm.ts';
import { SecurityEvent, User } from '../db/entities.ts';
import { describeDevice, shownDevice, type Client } from './clients.ts';

export const EVENT_KINDS = [
  'sign_in',
  'sign_in_failed',
  'password_changed',
  'password_reset_requested',
  'password_reset_completed',
  'sign_in_link_requested',
  'email_change_requested',
  'email_changed',
  'session_revoked',
  'account_secured',
  'picture_changed',
  'picture_removed',
  // A wrong current password on the account page (change password or email, delete): a stolen session guessing.
  'password_check_failed',
  'second_step_failed',
  'two_step_enabled',
  'two_step_disabled',
  'recovery_codes_renewed',
  'recovery_code_used',
  'two_step_removal_started',
  'two_step_removal_cancelled',
  'two_step_removal_finished',
  'passkey_added',
  'passkey_removed',
  'passkey_counter_regressed',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export type ActivityEntry = { kind: EventKind; at: Date; device: string | null; ip: string | null; count: number };

// Long enough to notice a pattern, short enough not to become a profile of the person.
export const EVENT_RETENTION_MS = 90 * 24 * 3600_000;
// Failed sign-ins for one account within this window add up in one row instead of a row each.
export const FAILED_SIGN_IN_WINDOW_MS = 3600_000;
export const EVENTS_SHOWN = 20;

export function createActivity({ orm, now }: { orm: Orm; now: () => Date }) {
  const em = () => orm.em.fork();

  /** Inserts one event; pass `tx` to make it part of the work it records. */
  async function record(userId: number, kind: EventKind, client: Client | null, tx: EntityManager = em()): Promise<void> {
    await tx.insert(SecurityEvent, {
      user: userId,
      kind,
      at: now(),
      ip: client?.ip ?? null,
      device: client ? describeDevice(client.userAgent) : null,
      count: 1,
    });
  }

  /**
   * Counts a failed sign-in against the account with this email, if there is one. Runs in the job of
   * a recorded failed sign-in (index.ts), at a moment no request can pick out, in its transaction.
   */
  async function recordFailedSignIn(email: string, client: Client | null, tx: EntityManager): Promise<void> {
    // Described before the look-up, for every email alike.
    const device = client ? describeDevice(client.userAgent) : null;
    const user = await tx.findOne(User, { email }, { fields: ['id'] });
    if (!user) return;
    const at = now();
    const counted = await tx.nativeUpdate(
      SecurityEvent,
      { user: user.id, kind: 'sign_in_failed', at: { $gt: new Date(at.getTime() - FAILED_SIGN_IN_WINDOW_MS) } },
      { count: raw('count + 1'), ip: client?.ip ?? null, device },
    );
    if (counted === 0) await record(user.id, 'sign_in_failed', client, tx);
  }

  /** Whether this account signed in from this device family and address range in the retention window. */
  async function isFamiliarSignIn(userId: number, client: Client, db: EntityManager = em()): Promise<boolean> {
    const signIns = { user: userId, kind: 'sign_in', at: { $gt: new Date(now().getTime() - EVENT_RETENTION_MS) } };
    return (await db.count(SecurityEvent, { ...signIns, ip: client.ip, device: describeDevice(client.userAgent) })) > 0;
  }

  async function list(userId: number, limit = EVENTS_SHOWN): Promise<ActivityEntry[]> {
    const rows = await em().find(SecurityEvent, { user: userId }, { orderBy: { at: 'desc', id: 'desc' }, limit });
    return rows.map(({ kind, at, device, ip, count }) => ({ kind: kind as EventKind, at, device: shownDevice(device ?? null), ip: ip ?? null, count }));
  }

  function prune(): Promise<number> {
    return em().nativeDelete(SecurityEvent, { at: { $lte: new Date(now().getTime() - EVENT_RETENTION_MS) } });
  }

  return { record, recordFailedSignIn, isFamiliarSignIn, list, prune };
}
