// The account system's public API. No HTTP here: callers pass plain values and get outcomes back.
import { raw } from '@mikro-orm/core';
import type { EntityManager, Orm } from '../db/orm.ts';
import { Session, User } from '../db/entities.ts';
import type { Notifier } from './notifier.ts';
import { hashPassword, passwordProblem, verifyAgainstNothing, verifyPassword } from './passwords.ts';
import * as tokens from './reset-tokens.ts';
import { createSignups, type SignupLinks } from './signups.ts';

export { passwordProblem };
export type { SignupConfirmation, SignupLinks, SignupProcessing, SignupRecord } from './signups.ts';

/** What a session needs to know about its user. */
export type SessionUser = { id: number; credentialVersion: number };
export type Profile = SessionUser & { username: string; email: string; createdAt: Date };
export type FieldErrors = Record<string, string>;

export type Login = { ok: true; user: SessionUser } | { ok: false; reason: 'invalid_credentials' };
export type PasswordChange =
  | { ok: true; user: SessionUser }
  | { ok: false; reason: 'wrong_password' | 'invalid'; fields: FieldErrors };
export type ResetRequest = 'sent' | 'unknown_email' | 'throttled';
export type Reset = { ok: true } | { ok: false; reason: 'invalid_token' } | { ok: false; reason: 'invalid'; fields: FieldErrors };

export type AccountsOptions = {
  orm: Orm;
  notifier: Notifier;
  resetTokenTtlMinutes: number;
  resetThrottleSeconds: number;
  signupLinks: SignupLinks;
  signupThrottleSeconds: number;
  now?: () => Date;
};

export type Accounts = ReturnType<typeof createAccounts>;

/** Emails are compared and stored trimmed and lower-cased; nothing else is folded. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function createAccounts(options: AccountsOptions) {
  const { orm, notifier, resetTokenTtlMinutes, resetThrottleSeconds, now = () => new Date() } = options;
  const em = () => orm.em.fork();
  const signups = createSignups({ orm, notifier, links: options.signupLinks, throttleSeconds: options.signupThrottleSeconds, now });

  async function findUser(id: number): Promise<Profile | null> {
    const user = await em().findOne(User, { id });
    return user && profileOf(user);
  }

  async function logIn(input: { email: string; password: string }): Promise<Login> {
    const db = em();
    // A plain row, not an entity: building an entity costs more when the account exists, and the
    // bench's login_timing saw that difference (~0.1 ms) through the answer's timing.
    const user = await db
      .createQueryBuilder(User)
      .select(['id', 'passwordHash', 'credentialVersion'])
      .where({ email: normalizeEmail(input.email) })
      .execute<Pick<User, 'id' | 'passwordHash' | 'credentialVersion'> | undefined>('get');
    if (!user) {
      // Same argon2 work as a wrong password, so timing does not reveal which emails have accounts.
      await verifyAgainstNothing(input.password);
      return { ok: false, reason: 'invalid_credentials' };
    }
    const check = await verifyPassword(user.passwordHash, input.password);
    if (!check.ok) return { ok: false, reason: 'invalid_credentials' };
    if (check.needsRehash) {
      // Upgrade to the current parameters, unless the password changed meanwhile.
      await db.nativeUpdate(
        User,
        { id: user.id, credentialVersion: user.credentialVersion },
        { passwordHash: await hashPassword(input.password) },
      );
    }
    return { ok: true, user: { id: user.id, credentialVersion: user.credentialVersion } };
  }

  /**
   * Sets a new password after checking the current one. Every session of the user ends
   * (the caller opens a fresh one for the browser that asked) and reset links stop working.
   */
  async function changePassword(
    userId: number,
    input: { currentPassword: string; newPassword: string },
  ): Promise<PasswordChange> {
    const user = await em().findOne(User, { id: userId });
    if (!user) return { ok: false, reason: 'wrong_password', fields: { current_password: 'Your current password is not correct.' } };
    const problem = passwordProblem(input.newPassword);
    if (problem) return { ok: false, reason: 'invalid', fields: { new_password: problem } };
    if (!(await verifyPassword(user.passwordHash, input.currentPassword)).ok) {
      return { ok: false, reason: 'wrong_password', fields: { current_password: 'Your current password is not correct.' } };
    }
    const passwordHash = await hashPassword(input.newPassword);
    const { credentialVersion } = await em().transactional((tx) => writePassword(tx, userId, passwordHash));
    notifier.sendPasswordChanged(user, 'change');
    return { ok: true, user: { id: userId, credentialVersion } };
  }

  /**
   * Emails a reset link if the address belongs to an account. Callers run this after answering,
   * and show the same message whatever it returns.
   */
  async function requestPasswordReset(email: string, linkFor: (token: string) => string): Promise<ResetRequest> {
    const db = em();
    const user = await db.findOne(User, { email: normalizeEmail(email) });
    if (!user) return 'unknown_email';
    const at = now();
    if (!(await claimResetWindow(user.id, at))) return 'throttled';

    const { token, tokenHash } = tokens.mintToken();
    await db.transactional(async (tx) => {
      // One live link per account: a new request supersedes the old one.
      await tokens.deleteTokensOf(tx, user.id);
      await tokens.storeToken(tx, user.id, tokenHash, at, new Date(at.getTime() + resetTokenTtlMinutes * 60_000));
    });
    notifier.sendResetInstructions(user, linkFor(token), resetTokenTtlMinutes);
    return 'sent';
  }

  /** Whether a reset link is live. Never consumes it: mail scanners open links too. */
  async function checkResetToken(token: unknown): Promise<boolean> {
    const tokenHash = tokens.hashIfWellFormed(token);
    return tokenHash !== null && (await tokens.findLiveToken(em(), tokenHash, now())) !== null;
  }

  /** Sets a new password with a reset link. Ends every session; does not log anyone in. */
  async function resetPassword(token: unknown, newPassword: string): Promise<Reset> {
    const tokenHash = tokens.hashIfWellFormed(token);
    if (tokenHash === null || (await tokens.findLiveToken(em(), tokenHash, now())) === null) {
      return { ok: false, reason: 'invalid_token' };
    }
    const problem = passwordProblem(newPassword);
    if (problem) return { ok: false, reason: 'invalid', fields: { new_password: problem } };

    const passwordHash = await hashPassword(newPassword);
    const user = await em().transactional(async (tx) => {
      // Claim the token before writing the password: of two concurrent redemptions, one wins.
      const owner = await tokens.claimToken(tx, tokenHash, now());
      return owner === null ? null : writePassword(tx, owner, passwordHash);
    });
    if (user === null) return { ok: false, reason: 'invalid_token' };
    notifier.sendPasswordChanged(user, 'reset');
    return { ok: true };
  }

  /** Housekeeping: expired links are useless, so they need not be kept. */
  function deleteExpiredResetTokens(): Promise<number> {
    return tokens.deleteExpiredTokens(em(), now());
  }

  /**
   * Writes the hash, bumps the credential version, and ends every session and reset link at once.
   * Returns the user as now stored.
   */
  async function writePassword(tx: EntityManager, userId: number, passwordHash: string): Promise<User> {
    await tx.nativeUpdate(
      User,
      { id: userId },
      { passwordHash, credentialVersion: raw('credential_version + 1'), updatedAt: now() },
    );
    await tokens.deleteTokensOf(tx, userId);
    await tx.nativeDelete(Session, { user: userId });
    return tx.findOneOrFail(User, { id: userId }, { refresh: true });
  }

  /** Takes the account's throttle window in one conditional update, so concurrent requests send one email. */
  async function claimResetWindow(userId: number, at: Date): Promise<boolean> {
    const windowStart = new Date(at.getTime() - resetThrottleSeconds * 1000);
    const claimed = await em().nativeUpdate(
      User,
      resetThrottleSeconds > 0
        ? { id: userId, $or: [{ resetRequestedAt: null }, { resetRequestedAt: { $lte: windowStart } }] }
        : { id: userId },
      { resetRequestedAt: at },
    );
    return claimed === 1;
  }

  return {
    ...signups,
    findUser, logIn, changePassword, requestPasswordReset, checkResetToken, resetPassword,
    deleteExpiredResetTokens,
  };
}

function profileOf(user: User): Profile {
  const { id, username, email, credentialVersion, createdAt } = user;
  return { id, username, email, credentialVersion, createdAt };
}
