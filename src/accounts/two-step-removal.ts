// Lost factor: with no recovery codes left, the password plus an emailed link starts removing two-step
// verification. It finishes 72 hours later unless any full sign-in or "This wasn't me" cancels it, so
// someone with the password and the mailbox cannot take the account before its owner hears of it.
import type { EntityManager, Orm } from '../db/orm.ts';
import { PendingSignIn, RecoveryCode, Session, TwoStep } from '../db/entities.ts';
import * as accountTokens from './account-tokens.ts';
import type { Client } from './clients.ts';
import { queue as queueEmail } from './notifier.ts';
import { recoveryCodesLeft } from './recovery-codes.ts';
import type { SecondStep } from './second-step.ts';
import { hashIfWellFormed } from './tokens.ts';
import { fromDatabaseDate } from '../db/dates.ts';
import type { TwoStepApi } from './two-step.ts';

export const TWO_STEP_REMOVAL = {
  /** Long enough for the owner to see an email and sign in (which cancels it), short enough to be a way back. */
  delayMs: 72 * 3600_000,
  /** The second email goes out this long before the end. */
  warnBeforeMs: 24 * 3600_000,
} as const;

export type RemovalRequest = { ok: true } | { ok: false; reason: 'expired' | 'codes_left' };
export type RemovalStart = { ok: true; dueAt: Date } | { ok: false; reason: 'invalid_token' };

type Deps = {
  orm: Orm;
  now: () => Date;
  secondStep: SecondStep;
  changed: TwoStepApi['changed'];
  /** The user of a live pending sign-in (the password passed), or null. */
  pendingUser: (pendingId: number) => Promise<number | null>;
};

export function createTwoStepRemoval({ orm, now, secondStep, changed, pendingUser }: Deps) {
  const em = () => orm.em.fork();

  /**
   * "I can't use my authenticator", after a correct password: only once the recovery codes are all
   * used (with one left, that is the way in). Emails the owner a link; nothing changes until it is opened.
   */
  async function requestTwoStepRemoval(pendingId: number | undefined): Promise<RemovalRequest> {
    const userId = pendingId === undefined ? null : await pendingUser(pendingId);
    if (userId === null || !(await secondStep.isOn(userId))) return { ok: false, reason: 'expired' };
    if ((await recoveryCodesLeft(em(), userId)) > 0) return { ok: false, reason: 'codes_left' };
    await em().transactional((tx) => queueEmail(tx, 'two-step-removal-link', { userId }));
    return { ok: true };
  }

  /** Whether a removal link is live; never consumes it (mail scanners open links too). */
  async function checkRemovalToken(token: unknown): Promise<boolean> {
    const hash = hashIfWellFormed(token);
    return Boolean(hash && (await accountTokens.findLive(em(), 'two_step_removal', hash, now())));
  }

  /** Uses the link: the removal is due in 72 hours (an already running one keeps its time). */
  async function startTwoStepRemoval(token: unknown, client: Client | null): Promise<RemovalStart> {
    const hash = hashIfWellFormed(token);
    if (!hash) return { ok: false, reason: 'invalid_token' };
    return em().transactional(async (tx): Promise<RemovalStart> => {
      const claimed = await accountTokens.claim(tx, 'two_step_removal', hash, now());
      if (!claimed) return { ok: false, reason: 'invalid_token' };
      const userId = claimed.user.id;
      const dueAt = new Date(now().getTime() + TWO_STEP_REMOVAL.delayMs);
      const started = await tx.nativeUpdate(TwoStep, { user: userId, enabledAt: { $ne: null }, removalDueAt: null }, { removalDueAt: dueAt, removalWarnedAt: null });
      if (started === 1) await changed(tx, userId, 'two_step_removal_started', 'removal_started', client);
      const row = await tx.findOne(TwoStep, { user: userId }, { fields: ['removalDueAt'], refresh: true });
      return row?.removalDueAt ? { ok: true, dueAt: fromDatabaseDate(row.removalDueAt) } : { ok: false, reason: 'invalid_token' };
    });
  }

  /** A full sign-in, or "This wasn't me": the owner is here, so a running removal stops. */
  async function cancelTwoStepRemoval(userId: number, client: Client | null, tx?: EntityManager): Promise<void> {
    if (!tx) return em().transactional((own) => cancelTwoStepRemoval(userId, client, own));
    const cancelled = await tx.nativeUpdate(TwoStep, { user: userId, removalDueAt: { $ne: null } }, { removalDueAt: null, removalWarnedAt: null });
    if (cancelled === 1) await changed(tx, userId, 'two_step_removal_cancelled', 'removal_cancelled', client);
  }

  /**
   * Housekeeping: warns 24 hours before the end, and finishes what is due: two-step off, the codes
   * gone, every session and pending sign-in ended. Each step is a conditional write, so instances
   * running this at once send one email and finish once.
   */
  async function advanceTwoStepRemovals(): Promise<number> {
    const at = now();
    const soon = new Date(at.getTime() + TWO_STEP_REMOVAL.warnBeforeMs);
    const toWarn = await em().find(TwoStep, { removalDueAt: { $lte: soon, $gt: at }, removalWarnedAt: null }, { fields: ['user'] });
    for (const row of toWarn) {
      await em().transactional(async (tx) => {
        const claimed = await tx.nativeUpdate(TwoStep, { id: row.id, removalDueAt: { $lte: soon, $gt: at }, removalWarnedAt: null }, { removalWarnedAt: at });
        if (claimed === 1) await queueEmail(tx, 'two-step-changed', { userId: row.user.id, change: 'removal_soon' });
      });
    }
    const due = await em().find(TwoStep, { removalDueAt: { $lte: at } }, { fields: ['user'] });
    for (const row of due) {
      const userId = row.user.id;
      await em().transactional(async (tx) => {
        if ((await tx.nativeDelete(TwoStep, { id: row.id, removalDueAt: { $lte: at } })) !== 1) return;
        await tx.nativeDelete(RecoveryCode, { user: userId });
        await tx.nativeDelete(Session, { user: userId });
        await tx.nativeDelete(PendingSignIn, { user: userId });
        await changed(tx, userId, 'two_step_removal_finished', 'removal_finished', null);
      });
    }
    return toWarn.length + due.length;
  }

  return { requestTwoStepRemoval, checkRemovalToken, startTwoStepRemoval, cancelTwoStepRemoval, advanceTwoStepRemovals };
}
