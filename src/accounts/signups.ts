// Sign-up by confirmed email: the account exists only once its address used the emailed link, and
// nothing a visitor sees (status, body, timing) depends on whether the address already has one.
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager, Orm } from '../db/orm.ts';
import { Signup, SignupThrottle, User } from '../db/entities.ts';
import type { JobHandler } from '../jobs/runner.ts';
import { recordRequest, type WorkDelay } from './requests.ts';
import { normalizeEmail, type FieldErrors, type SessionUser } from './values.ts';
import { queue as queueEmail } from './notifier.ts';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.ts';
import { claimRow, hashIfWellFormed } from './tokens.ts';
import { claimAddressWindow } from './address-windows.ts';
import { signupExpiry } from './signup-tokens.ts';

/** A recorded sign-up, as its job carries it: the password already hashed, the address as typed (normalised). */
type SignupRequest = { username: string; email: string; passwordHash: string };

export type SignupRecord = { ok: true } | { ok: false; reason: 'invalid'; fields: FieldErrors };
/** What the work after the answer did; nobody but the logs and tests ever sees it. */
export type SignupProcessing = 'confirmation_queued' | 'account_exists_queued' | 'throttled';
export type SignupConfirmation =
  | { ok: true; user: SessionUser }
  | { ok: false; reason: 'invalid_token' }
  // Not the password chosen at sign-up: the link stays usable, for whoever did choose it.
  | { ok: false; reason: 'wrong_password'; username: string }
  | { ok: false; reason: 'username_taken'; username: string }
  | { ok: false; reason: 'email_taken' };

// The job that carries a recorded sign-up to the account-dependent work.
const SIGNUP_REQUEST_JOB = 'signup-request';

type Deps = { orm: Orm; throttleSeconds: number; workDelay: WorkDelay; now: () => Date };

export function createSignups({ orm, throttleSeconds, workDelay, now }: Deps) {
  const em = () => orm.em.fork();

  /**
   * Checks what may be said at once (usernames are public on author pages; the password policy is the
   * same for everyone), hashes the password and records the request: one insert, the same for every
   * address, which is looked at only by the job, at a moment no request can pick out (requests.ts).
   */
  async function recordSignup(input: { username: string; email: string; password: string }): Promise<SignupRecord> {
    // Typed values only (the username and address as entered), so the answer still tells nothing.
    const problem = passwordProblem(input.password, { username: input.username, email: input.email });
    if (problem) return { ok: false, reason: 'invalid', fields: { password: problem } };
    if (await em().count(User, { username: input.username })) {
      return { ok: false, reason: 'invalid', fields: { username: 'This username is taken.' } };
    }
    const request: SignupRequest = {
      username: input.username,
      email: normalizeEmail(input.email),
      passwordHash: await hashPassword(input.password),
    };
    await recordRequest(em(), SIGNUP_REQUEST_JOB, request, workDelay());
    return { ok: true };
  }

  /**
   * The account-dependent work behind a recorded sign-up: a new address gets a pending sign-up and a
   * confirmation email, an address with an account gets a note without a link. Repeats within the
   * window queue nothing. In the job's transaction, so the request ends exactly when its email is queued.
   */
  async function processSignup(request: SignupRequest, tx: EntityManager): Promise<SignupProcessing> {
    const at = now();
    const owner = await tx.findOne(User, { email: request.email });
    if (!(await claimAddressWindow(tx, SignupThrottle, request.email, at, throttleSeconds))) return 'throttled';
    if (owner) {
      // Nothing of the stranger's attempt is kept (not even the password hash), and the account is untouched.
      await queueEmail(tx, 'signup-account-exists', { userId: owner.id });
      return 'account_exists_queued';
    }
    // One pending sign-up per address: the newest replaces every older one, and their links die with them.
    await tx.nativeDelete(Signup, { email: request.email });
    const signupId = await tx.insert(Signup, { ...request, tokenHash: null, createdAt: at, expiresAt: signupExpiry(at) });
    // The link is minted when the email is sent (notifier.ts), so no usable token rests in the database.
    await queueEmail(tx, 'signup-confirmation', { signupId: Number(signupId) });
    return 'confirmation_queued';
  }

  /**
   * The username a live confirmation link would create, shown on its page so that a link to someone
   * else's sign-up is recognised as such; null when the link is not live. Never consumes it.
   */
  async function pendingSignup(token: unknown): Promise<{ username: string } | null> {
    const tokenHash = hashIfWellFormed(token);
    const signup = tokenHash === null ? null : await em().findOne(Signup, { tokenHash, expiresAt: { $gt: now() } }, { fields: ['username'] });
    return signup && { username: signup.username };
  }

  /**
   * Creates the account from a confirmed sign-up, with the password hash taken at sign-up. The link
   * proves the inbox; the password proves the person who chose it. Without it, a stranger whose later
   * sign-up replaced the owner's would get an account on the owner's address, with the stranger's
   * password, as soon as the owner clicked the only live link. When the username was taken meanwhile
   * the link stays usable, so its owner can pick another one.
   */
  async function confirmSignup(token: unknown, choice: { password: string; username?: string }): Promise<SignupConfirmation> {
    const tokenHash = hashIfWellFormed(token);
    if (tokenHash === null) return { ok: false, reason: 'invalid_token' };
    const signup = await em().findOne(Signup, { tokenHash, expiresAt: { $gt: now() } });
    if (!signup) return { ok: false, reason: 'invalid_token' };
    if (!(await verifyPassword(signup.passwordHash, choice.password)).ok) return { ok: false, reason: 'wrong_password', username: signup.username };
    const username = choice.username ?? signup.username;
    try {
      const userId = await em().transactional(async (tx) => {
        // Claim the link before creating the account: of two concurrent confirmations, one wins.
        if (!(await claimRow(tx, Signup, { id: signup.id, tokenHash }, now()))) return null;
        const at = now();
        const created = await tx.insert(User, {
          username, email: signup.email, passwordHash: signup.passwordHash, credentialVersion: 1, createdAt: at, updatedAt: at,
        });
        return Number(created);
      });
      if (userId === null) return { ok: false, reason: 'invalid_token' };
      return { ok: true, user: { id: userId, credentialVersion: 1 } };
    } catch (err) {
      if (!(err instanceof UniqueConstraintViolationException)) throw err;
    }
    // The rollback kept the link. An address that became an account meanwhile ends the sign-up;
    // a username taken meanwhile only needs another one.
    if ((await em().count(User, { email: signup.email })) > 0) {
      await em().nativeDelete(Signup, { email: signup.email });
      return { ok: false, reason: 'email_taken' };
    }
    return { ok: false, reason: 'username_taken', username };
  }

  /** Housekeeping: expired sign-ups never become accounts, and old throttle windows are over. */
  async function deleteExpiredSignups(): Promise<number> {
    const at = now();
    await em().nativeDelete(SignupThrottle, { expiresAt: { $lte: at } });
    return em().nativeDelete(Signup, { expiresAt: { $lte: at } });
  }

  /** The durable jobs of sign-up (registered with the job runner by buildApp through accounts.jobs). */
  const jobs: Record<string, JobHandler> = {
    [SIGNUP_REQUEST_JOB]: {
      // Ends in the transaction that queues the email; then the row (an address anyone typed) is deleted.
      transactional: true,
      forget: true,
      run: async (request: SignupRequest, tx) => void (await processSignup(request, tx)),
    },
  };

  return { recordSignup, pendingSignup, confirmSignup, deleteExpiredSignups, jobs };
}
