// The account system's public API. No HTTP here: callers pass plain values and get outcomes back.
import { raw } from '@mikro-orm/core';
import type { EntityManager, Orm } from '../db/orm.ts';
import { Session, User } from '../db/entities.ts';
import { enqueue } from '../jobs/queue.ts';
import type { JobHandler } from '../jobs/runner.ts';
import { queue as queueEmail } from './notifier.ts';
import { hashPassword, passwordProblem, verifyAgainstNothing, verifyPassword } from './passwords.ts';
import * as tokens from './reset-tokens.ts';
import { createSignups } from './signups.ts';

export { passwordProblem };
export type { SignupConfirmation, SignupProcessing, SignupRecord } from './signups.ts';

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
  resetThrottleSeconds: number;
  signupThrottleSeconds: number;
  now?: () => Date;
};

export type Accounts = ReturnType<typeof createAccounts>;

/** Emails are compared and stored trimmed and lower-cased; nothing else is folded. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

// The job that carries a recorded forgot-password request to its work.
const RESET_REQUEST_JOB = 'password-reset-request';

export function createAccounts({ orm, resetThrottleSeconds, signupThrottleSeconds, now = () => new Date() }: AccountsOptions) {
  const em = () => orm.em.fork();
  // Sign-up (signups.ts): its functions join this API, and its jobs join this domain's jobs.
  const { jobs: signupJobs, ...signups } = createSignups({ orm, throttleSeconds: signupThrottleSeconds, now });

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
    const { credentialVersion } = await em().transactional(async (tx) => {
      const written = await writePassword(tx, userId, passwordHash);
      await queueEmail(tx, 'password-changed', { userId, how: 'change' });
      return written;
    });
    return { ok: true, user: { id: userId, credentialVersion } };
  }

  /**
   * Records a forgot-password request before it is answered: one insert, the same whatever the
   * address, so neither the answer nor its timing depends on the account. The caller wakes the job
   * runner once the answer is out; a crash before that loses nothing, as any instance sweeps it up.
   */
  async function recordResetRequest(email: string): Promise<void> {
    await enqueue(em(), RESET_REQUEST_JOB, { email: normalizeEmail(email) }, { wake: false });
  }

  /**
   * The work behind a recorded request: queues a reset email if the address belongs to an account
   * and its throttle window is free. In the job's transaction when given one, so the request ends
   * exactly when its email is queued. The link is minted when the email is sent (notifier.ts).
   */
  async function requestPasswordReset(email: string, tx?: EntityManager): Promise<ResetRequest> {
    if (!tx) return em().transactional((own) => requestPasswordReset(email, own));
    const user = await tx.findOne(User, { email: normalizeEmail(email) });
    if (!user) return 'unknown_email';
    if (!(await claimResetWindow(tx, user.id, now()))) return 'throttled';
    await queueEmail(tx, 'reset-instructions', { userId: user.id });
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
      if (owner === null) return null;
      const written = await writePassword(tx, owner, passwordHash);
      await queueEmail(tx, 'password-changed', { userId: owner, how: 'reset' });
      return written;
    });
    if (user === null) return { ok: false, reason: 'invalid_token' };
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
  async function claimResetWindow(tx: EntityManager, userId: number, at: Date): Promise<boolean> {
    const windowStart = new Date(at.getTime() - resetThrottleSeconds * 1000);
    const claimed = await tx.nativeUpdate(
      User,
      resetThrottleSeconds > 0
        ? { id: userId, $or: [{ resetRequestedAt: null }, { resetRequestedAt: { $lte: windowStart } }] }
        : { id: userId },
      { resetRequestedAt: at },
    );
    return claimed === 1;
  }

  /** The durable jobs this domain runs (registered with the job runner by buildApp). */
  const jobs: Record<string, JobHandler> = {
    [RESET_REQUEST_JOB]: {
      // Ends in the transaction that queues the email; then the row (an address anyone typed) is deleted.
      transactional: true,
      forget: true,
      run: async ({ email }: { email: string }, tx) => void (await requestPasswordReset(email, tx)),
    },
  };

  return {
    findUser, logIn, changePassword, recordResetRequest, requestPasswordReset, checkResetToken,
    resetPassword, deleteExpiredResetTokens,
    ...signups,
    jobs: { ...jobs, ...signupJobs },
  };
}

function profileOf(user: User): Profile {
  const { id, username, email, credentialVersion, createdAt } = user;
  return { id, username, email, credentialVersion, createdAt };
}
