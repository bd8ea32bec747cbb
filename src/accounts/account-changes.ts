// Changing the address, "This wasn't me", and leaving: the account page's changes that go beyond the
// password. Each asks for proof (the current password, or a link from the inbox) before anything changes.
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Orm } from '../db/orm.ts';
import { User } from '../db/entities.ts';
import * as accountTokens from './account-tokens.ts';
import type { createActivity } from './activity.ts';
import type { Client } from './clients.ts';
import { queue as queueEmail } from './notifier.ts';
import { verifyPassword } from './passwords.ts';
import * as resetTokens from './reset-tokens.ts';
import { hashIfWellFormed } from './tokens.ts';
import { revokeCredentials } from './credentials.ts';
import { removePasskeysAddedSince } from './passkeys.ts';

export type EmailChangeRequest = { ok: true } | { ok: false; reason: 'wrong_password' | 'same_address' };
export type EmailChangeConfirmation = { ok: true } | { ok: false; reason: 'invalid_token' | 'address_taken' };
export type Securing = { ok: true } | { ok: false; reason: 'invalid_token' };
export type Deletion = { ok: true } | { ok: false; reason: 'wrong_password' };

type Deps = { orm: Orm; now: () => Date; activity: ReturnType<typeof createActivity> };

export function createAccountChanges({ orm, now, activity }: Deps) {
  const em = () => orm.em.fork();

  async function passwordMatches(user: User | null, password: string): Promise<boolean> {
    return user !== null && (await verifyPassword(user.passwordHash, password)).ok;
  }

  /**
   * Asks the new inbox to confirm; nothing changes until it does. Whether the address already has an
   * account is decided when the email is composed (notifier.ts): the request does the same work either
   * way, so neither its answer nor its timing tells.
   */
  async function requestEmailChange(
    userId: number,
    input: { newEmail: string; currentPassword: string },
    client: Client | null,
  ): Promise<EmailChangeRequest> {
    const user = await em().findOne(User, { id: userId });
    if (!(await passwordMatches(user, input.currentPassword))) return { ok: false, reason: 'wrong_password' };
    if (user!.email === input.newEmail) return { ok: false, reason: 'same_address' };
    await em().transactional(async (tx) => {
      const changeId = await accountTokens.recordEmailChange(tx, userId, input.newEmail, now());
      await queueEmail(tx, 'confirm-email', { changeId });
      await activity.record(userId, 'email_change_requested', client, tx);
    });
    return { ok: true };
  }

  /** The address a live confirmation link of this user's would move the account to; never consumes it. */
  async function pendingEmailChange(userId: number, token: unknown): Promise<string | null> {
    const hash = hashIfWellFormed(token);
    const row = hash === null ? null : await accountTokens.findLive(em(), 'email_change', hash, now());
    return row !== null && row.user.id === userId ? row.email! : null;
  }

  /**
   * Moves the account to the confirmed address. Only the user who asked may confirm (a link opened in
   * someone else's session does nothing); every reset link dies, and the old address is told.
   */
  async function confirmEmailChange(userId: number, token: unknown, client: Client | null): Promise<EmailChangeConfirmation> {
    const hash = hashIfWellFormed(token);
    if (!hash) return { ok: false, reason: 'invalid_token' };
    try {
      return await em().transactional(async (tx): Promise<EmailChangeConfirmation> => {
        // Only this user's link: another user's is not found, and so not used up.
        const change = await accountTokens.claim(tx, 'email_change', hash, now(), userId);
        if (!change) return { ok: false, reason: 'invalid_token' };
        const user = await tx.findOneOrFail(User, { id: userId });
        const oldEmail = user.email;
        if (await tx.count(User, { email: change.email!, id: { $ne: userId } })) return { ok: false, reason: 'address_taken' };
        await tx.nativeUpdate(User, { id: userId }, { email: change.email!, updatedAt: now() });
        await resetTokens.deleteTokensOf(tx, userId);
        await accountTokens.deleteAllOf(tx, userId, 'email_change');
        await queueEmail(tx, 'email-changed', { userId, oldEmail, newEmail: change.email! });
        await activity.record(userId, 'email_changed', client, tx);
        return { ok: true };
      });
    } catch (err) {
      // Another account took the address between our check and our write; the database kept one.
      if (err instanceof UniqueConstraintViolationException) return { ok: false, reason: 'address_taken' };
      throw err;
    }
  }

  /** Whether a "This wasn't me" link is live; never consumes it. */
  async function checkSecureToken(token: unknown): Promise<boolean> {
    const hash = hashIfWellFormed(token);
    return Boolean(hash && (await accountTokens.findLive(em(), 'secure', hash, now())));
  }

  /**
   * "This wasn't me": ends every session, voids every token, puts back the address the notice went to
   * if the account's address was changed away from it, and sends a reset link there. It never logs
   * anyone in and never sets a password: whoever clicks it proves only that they read that inbox.
   */
  async function secureAccount(token: unknown, client: Client | null): Promise<Securing> {
    const hash = hashIfWellFormed(token);
    if (!hash) return { ok: false, reason: 'invalid_token' };
    return em().transactional(async (tx): Promise<Securing> => {
      const secure = await accountTokens.claim(tx, 'secure', hash, now());
      if (!secure) return { ok: false, reason: 'invalid_token' };
      const userId = secure.user.id;
      const user = await tx.findOneOrFail(User, { id: userId });
      const restore = secure.email && secure.email !== user.email
        && (await tx.count(User, { email: secure.email, id: { $ne: userId } })) === 0;
      await revokeCredentials(tx, userId, restore ? { email: secure.email! } : {}, now());
      // A passkey added since the reported event may be the intruder's way back in: it goes too.
      await removePasskeysAddedSince(tx, userId, secure.reportedAt ?? secure.createdAt);
      await accountTokens.deleteAllOf(tx, userId);
      await queueEmail(tx, 'reset-instructions', { userId });
      await activity.record(userId, 'account_secured', client, tx);
      return { ok: true };
    });
  }

  /** Deletes the account and everything that is its own (by cascade) in one transaction, then says goodbye. */
  async function deleteAccount(userId: number, currentPassword: string): Promise<Deletion> {
    const user = await em().findOne(User, { id: userId });
    if (!(await passwordMatches(user, currentPassword))) return { ok: false, reason: 'wrong_password' };
    await em().transactional(async (tx) => {
      await tx.nativeDelete(User, { id: userId });
      // The address belonged to the account; the job forgets it once the goodbye is sent.
      await queueEmail(tx, 'goodbye', { email: user!.email, username: user!.username });
    });
    return { ok: true };
  }

  function deleteExpiredTokens(): Promise<number> {
    return accountTokens.deleteExpired(em(), now());
  }

  return {
    requestEmailChange, pendingEmailChange, confirmEmailChange, checkSecureToken, secureAccount, deleteAccount,
    deleteExpiredAccountTokens: deleteExpiredTokens,
  };
}
