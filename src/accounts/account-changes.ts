// Changing the address, "This wasn't me", and leaving: the account page's changes that go beyond the
// password. Each asks for proof (the current password, or a link from the inbox) before anything changes.
import { raw, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager, Orm } from '../db/orm.ts';
import { EmailChangeThrottle, Job, User } from '../db/entities.ts';
import { claimAddressWindow } from './address-windows.ts';
import * as accountTokens from './account-tokens.ts';
import type { createActivity } from './activity.ts';
import type { Client } from './clients.ts';
import { queue as queueEmail } from './notifier.ts';
import { verifyPassword } from './passwords.ts';
import * as resetTokens from './reset-tokens.ts';
import { hashIfWellFormed, lockAccount } from './tokens.ts';
import { revokeCredentials } from './credentials.ts';
import { forgetIfUnreferenced, lockedPictureOf } from '../pictures/store.ts';
import { removePasskeysAddedSince } from './passkeys.ts';
import type { LoginThrottleApi } from '../limits/login-throttle.ts';
import type { Throttled } from './index.ts';

export type EmailChangeRequest = { ok: true } | { ok: false; reason: 'wrong_password' } | Throttled;
export type EmailChangeConfirmation = { ok: true } | { ok: false; reason: 'invalid_token' | 'address_taken' };
export type Securing = { ok: true } | { ok: false; reason: 'invalid_token' };
export type Deletion =
  | { ok: true }
  | { ok: false; reason: 'wrong_password' }
  // A "This wasn't me" link sent to an earlier address is live until then: deleting would void it.
  | { ok: false; reason: 'address_recently_changed'; until: Date }
  | Throttled;

type Deps = {
  orm: Orm; now: () => Date; activity: ReturnType<typeof createActivity>; loginThrottle: LoginThrottleApi;
  /** At most one confirmation email per target address in this window (sign-up's setting); 0 turns it off. */
  addressWindowSeconds: number;
  /** Told in the transaction of "This wasn't me" (e.g. it cancels a lost-factor removal). */
  onSecured?: (tx: EntityManager, userId: number, client: Client | null) => Promise<void>;
};

export function createAccountChanges({ orm, now, activity, loginThrottle, addressWindowSeconds, onSecured }: Deps) {
  const em = () => orm.em.fork();

  /**
   * Checks the current password of a signed-in user, last, once everything else about the request was
   * checked (so a refusal for another reason tells nothing about the guess). A guess here is a guess
   * like a login's: it counts toward the per-email login throttle (a stolen session gets no more tries
   * than the login form gives), and a wrong one is a security event the owner sees.
   */
  async function checkCurrentPassword(
    user: User | null, password: string, client: Client | null, signal?: AbortSignal,
  ): Promise<{ ok: true } | { ok: false; reason: 'wrong_password' } | Throttled> {
    if (!user) return { ok: false, reason: 'wrong_password' };
    const attempt = await loginThrottle.attempt(user.email);
    if (!attempt.ok) return { ok: false, reason: 'throttled', retryAfterSeconds: attempt.retryAfterSeconds };
    if (!(await verifyPassword(user.passwordHash, password, signal)).ok) {
      await activity.record(user.id, 'password_check_failed', client);
      return { ok: false, reason: 'wrong_password' };
    }
    await loginThrottle.clear(user.email);
    return { ok: true };
  }

  /**
   * Asks the new inbox to confirm; nothing changes until it does. Whether the address already has an
   * account is decided when the email is composed (notifier.ts): the request does the same work either
   * way, so neither its answer nor its timing tells. That holds for the account's own address too: an
   * answer of its own ("already your address") after the password check told a guesser it was right.
   */
  async function requestEmailChange(
    userId: number,
    input: { newEmail: string; currentPassword: string },
    client: Client | null,
  ): Promise<EmailChangeRequest> {
    const user = await em().findOne(User, { id: userId });
    const check = await checkCurrentPassword(user, input.currentPassword, client);
    if (!check.ok) return check;
    await em().transactional(async (tx) => {
      // The account's row first: the event's insert takes a key-share lock on it, and two requests that
      // each held one while asking for the row lock (recordEmailChange) deadlocked on Postgres (a 500).
      await lockAccount(tx, userId);
      await activity.record(userId, 'email_change_requested', client, tx);
      // Silently, like sign-up: a repeat within the window sends nothing and leaves the pending change
      // (and its link) as it was, so nobody can flood an address from the account page.
      if (!(await claimAddressWindow(tx, EmailChangeThrottle, input.newEmail, now(), addressWindowSeconds))) return;
      const changeId = await accountTokens.recordEmailChange(tx, userId, input.newEmail, now());
      await queueEmail(tx, 'confirm-email', { changeId });
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
        await tx.nativeUpdate(User, { id: userId }, { email: change.email!, emailVersion: raw('email_version + 1'), updatedAt: now() });
        await resetTokens.deleteTokensOf(tx, userId);
        await accountTokens.deleteAllOf(tx, userId, 'email_change');
        // The old address's link is of the old address's version: it outlives whatever the new one does.
        await queueEmail(tx, 'email-changed', { userId, oldEmail, newEmail: change.email!, emailVersion: user.emailVersion });
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
   * "This wasn't me": ends every session, voids every token but the links sent to earlier addresses,
   * puts back the address the notice went to if the account's address was changed away from it, and
   * sends a reset link there. It never logs anyone in and never sets a password: whoever clicks it
   * proves only that they read that inbox, so an earlier address's link still wins over it later.
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
      // A restore is a change of address too: links sent from here on are of a later version.
      if (restore) await tx.nativeUpdate(User, { id: userId }, { emailVersion: raw('email_version + 1') });
      // A passkey added since the reported event may be the intruder's way back in: it goes too.
      await removePasskeysAddedSince(tx, userId, secure.reportedAt ?? secure.createdAt);
      await accountTokens.voidFrom(tx, userId, secure.emailVersion);
      await queueEmail(tx, 'reset-instructions', { userId });
      await activity.record(userId, 'account_secured', client, tx);
      await onSecured?.(tx, userId, client);
      return { ok: true };
    });
  }

  /** Deletes the account and everything that is its own (by cascade, and its finished jobs) in one transaction, then says goodbye. */
  async function deleteAccount(userId: number, currentPassword: string, client: Client | null = null): Promise<Deletion> {
    const user = await em().findOne(User, { id: userId });
    // Whoever moved the address away (perhaps with a stolen password) must not void the old address's
    // way back by deleting the account it would restore (property 16): the owner's link wins.
    const until = user && (await accountTokens.earlierAddressLinkLiveUntil(em(), userId, user.emailVersion, now()));
    if (until) return { ok: false, reason: 'address_recently_changed', until };
    const check = await checkCurrentPassword(user, currentPassword, client);
    if (!check.ok) return check;
    await em().transactional(async (tx) => {
      // The picture goes with the account (unless another account has the very same bytes).
      const picture = await lockedPictureOf(tx, userId);
      await tx.nativeDelete(User, { id: userId });
      if (picture?.pictureHash) await forgetIfUnreferenced(tx, picture.pictureHash);
      await deleteFinishedJobsOf(tx, userId);
      // The address belonged to the account; the job forgets it once the goodbye is sent.
      await queueEmail(tx, 'goodbye', { email: user!.email, username: user!.username });
    });
    return { ok: true };
  }

  /**
   * The account's finished (or given-up) emails: their payloads name it by id, with what it was told.
   * Payloads are our own JSON.stringify of `{ userId, … }`, so the id is followed by `,` or `}`. Jobs
   * still to run are left alone: the runner holds them, and their composers find no account and send nothing.
   */
  function deleteFinishedJobsOf(tx: EntityManager, userId: number) {
    return tx.nativeDelete(Job, {
      $and: [
        { $or: [{ finishedAt: { $ne: null } }, { deadAt: { $ne: null } }] },
        { $or: [{ payload: { $like: `%"userId":${userId},%` } }, { payload: { $like: `%"userId":${userId}}%` } }] },
      ],
    });
  }

  function deleteExpiredTokens(): Promise<number> {
    return accountTokens.deleteExpired(em(), now());
  }

  return {
    checkCurrentPassword, requestEmailChange, pendingEmailChange, confirmEmailChange, checkSecureToken, secureAccount, deleteAccount,
    deleteExpiredAccountTokens: deleteExpiredTokens,
  };
}
