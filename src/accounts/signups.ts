// Sign-up by confirmed email: the account exists only once its address used the emailed link, and
// nothing a visitor sees (status, body, timing) depends on whether the address already has one.
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Orm } from '../db/orm.ts';
import { Signup, SignupThrottle, User } from '../db/entities.ts';
import { normalizeEmail, type FieldErrors, type SessionUser } from './index.ts';
import type { Notifier } from './notifier.ts';
import { hashPassword, passwordProblem } from './passwords.ts';
import * as tokens from './reset-tokens.ts';

// A day: enough to find the mail the next morning, short enough that a stranger's sign-up does not linger.
export const SIGNUP_TTL_HOURS = 24;

/** The links sign-up emails carry, built by the web layer from APP_BASE_URL. */
export type SignupLinks = { confirm: (token: string) => string; logIn: string; forgotPassword: string };

export type SignupRecord = { ok: true; id: number } | { ok: false; reason: 'invalid'; fields: FieldErrors };
/** What the work after the answer did; nobody but the logs and tests ever sees it. */
export type SignupProcessing = 'confirmation_sent' | 'account_exists_sent' | 'throttled' | 'superseded' | 'gone';
export type SignupConfirmation =
  | { ok: true; user: SessionUser }
  | { ok: false; reason: 'invalid_token' }
  | { ok: false; reason: 'username_taken'; username: string }
  | { ok: false; reason: 'email_taken' };

export type SignupsOptions = {
  orm: Orm;
  notifier: Notifier;
  links: SignupLinks;
  throttleSeconds: number;
  now: () => Date;
};

export function createSignups({ orm, notifier, links, throttleSeconds, now }: SignupsOptions) {
  const em = () => orm.em.fork();
  const ttlMs = SIGNUP_TTL_HOURS * 3600_000;

  /**
   * Checks what may be said at once (the username is public on author pages; the password policy
   * is the same for everyone), hashes the password and records the request: one insert, the same
   * for every address. Nothing here looks at the address.
   */
  async function recordSignup(input: { username: string; email: string; password: string }): Promise<SignupRecord> {
    const problem = passwordProblem(input.password);
    if (problem) return { ok: false, reason: 'invalid', fields: { password: problem } };
    const db = em();
    if (await db.count(User, { username: input.username })) {
      return { ok: false, reason: 'invalid', fields: { username: 'This username is taken.' } };
    }
    const passwordHash = await hashPassword(input.password);
    const at = now();
    const id = await db.insert(Signup, {
      username: input.username, email: normalizeEmail(input.email), passwordHash,
      tokenHash: null, processedAt: null, createdAt: at, expiresAt: new Date(at.getTime() + ttlMs),
    });
    return { ok: true, id: Number(id) };
  }

  /**
   * The account-dependent work, run after the answer: a new address gets a confirmation link, an
   * address that has an account gets a note without one. Repeats within the window send nothing.
   */
  async function processSignup(id: number): Promise<SignupProcessing> {
    const db = em();
    const signup = await db.findOne(Signup, { id, processedAt: null });
    if (!signup) return 'gone';
    const at = now();
    const owner = await db.findOne(User, { email: signup.email });
    if (!(await claimWindow(signup.email, at))) {
      await db.nativeDelete(Signup, { id });
      return 'throttled';
    }
    if (owner) {
      // Nothing of the stranger's attempt is kept (not even the password hash), and the account is untouched.
      await db.nativeDelete(Signup, { id });
      notifier.sendAccountExists(owner, links);
      return 'account_exists_sent';
    }
    // Requests are normally worked on in order; if a newer one got here first, it stands.
    if ((await db.count(Signup, { email: signup.email, id: { $gt: id }, processedAt: { $ne: null } })) > 0) {
      await db.nativeDelete(Signup, { id });
      return 'superseded';
    }
    const { token, tokenHash } = tokens.mintToken();
    await db.transactional(async (tx) => {
      // One live link per address: the newest sign-up replaces every older one.
      await tx.nativeDelete(Signup, { email: signup.email, id: { $lt: id } });
      await tx.nativeUpdate(Signup, { id }, { tokenHash, processedAt: at, expiresAt: new Date(at.getTime() + ttlMs) });
    });
    notifier.sendSignupConfirmation(signup, links.confirm(token), SIGNUP_TTL_HOURS * 60);
    return 'confirmation_sent';
  }

  /** Whether a confirmation link is live. Never consumes it: mail scanners open links too. */
  async function checkSignupToken(token: unknown): Promise<boolean> {
    const tokenHash = tokens.hashIfWellFormed(token);
    return tokenHash !== null && (await em().count(Signup, { tokenHash, expiresAt: { $gt: now() } })) > 0;
  }

  /**
   * Creates the account from a confirmed sign-up, with the password hash taken at sign-up. When the
   * username was taken meanwhile the link stays usable, so its owner can pick another one.
   */
  async function confirmSignup(token: unknown, choice: { username?: string } = {}): Promise<SignupConfirmation> {
    const tokenHash = tokens.hashIfWellFormed(token);
    if (tokenHash === null) return { ok: false, reason: 'invalid_token' };
    const live = { tokenHash, expiresAt: { $gt: now() } };
    const signup = await em().findOne(Signup, live);
    if (!signup) return { ok: false, reason: 'invalid_token' };
    const username = choice.username ?? signup.username;
    try {
      const userId = await em().transactional(async (tx) => {
        // Claim the link before creating the account: of two concurrent confirmations, one wins.
        if ((await tx.nativeDelete(Signup, { id: signup.id, ...live })) !== 1) return null;
        const at = now();
        const created = await tx.insert(User, {
          username, email: signup.email, passwordHash: signup.passwordHash, credentialVersion: 1, createdAt: at, updatedAt: at,
        });
        // The address is an account now; any other sign-up waiting for it is moot.
        await tx.nativeDelete(Signup, { email: signup.email });
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
    const db = em();
    const [signups] = await Promise.all([
      db.nativeDelete(Signup, { expiresAt: { $lte: at } }),
      db.nativeDelete(SignupThrottle, { expiresAt: { $lte: at } }),
    ]);
    return signups;
  }

  /**
   * Takes the address's throttle window: an insert, or an update of a window that is over. Each is
   * one atomic statement, so of concurrent requests for one address exactly one sends an email.
   */
  async function claimWindow(email: string, at: Date): Promise<boolean> {
    if (throttleSeconds === 0) return true;
    const until = new Date(at.getTime() + throttleSeconds * 1000);
    try {
      await em().insert(SignupThrottle, { email, expiresAt: until });
      return true;
    } catch (err) {
      if (!(err instanceof UniqueConstraintViolationException)) throw err;
    }
    return (await em().nativeUpdate(SignupThrottle, { email, expiresAt: { $lte: at } }, { expiresAt: until })) === 1;
  }

  return { recordSignup, processSignup, checkSignupToken, confirmSignup, deleteExpiredSignups };
}
