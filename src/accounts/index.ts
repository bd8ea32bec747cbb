// The account system's public API. No HTTP here: callers pass plain values and get outcomes back.
import type { EntityManager, Orm } from '../db/orm.ts';
import { User } from '../db/entities.ts';
import type { JobHandler } from '../jobs/runner.ts';
import { createAccountChanges } from './account-changes.ts';
import { createActivity } from './activity.ts';
import { describeDevice, type Client } from './clients.ts';
import { queue as queueEmail } from './notifier.ts';
import type { LoginThrottleApi } from '../limits/login-throttle.ts';
import { hashPassword, passwordProblem, verifyAgainstNothing, verifyPassword } from './passwords.ts';
import * as tokens from './reset-tokens.ts';
import { hashIfWellFormed } from './tokens.ts';
import { revokeCredentials } from './credentials.ts';
import { randomWorkDelay, recordRequest, type WorkDelay } from './requests.ts';
import { createSessions } from './sessions.ts';
import { createSecretBox } from './secret-box.ts';
import { createSecondStep, type SecondFactorProof } from './second-step.ts';
import { createSignIn, type SignInStep } from './sign-in.ts';
import { createTwoStep } from './two-step.ts';
import { createPasskeys, type AuthenticationResponseJSON, type PublicKeyCredentialRequestOptionsJSON, type RelyingParty } from './passkeys.ts';
import { createTwoStepRemoval } from './two-step-removal.ts';
import type { MfaKey } from '../config.ts';
import { createSignups } from './signups.ts';
import { claimAccountWindow } from './address-windows.ts';
import { createSignInLinks } from './sign-in-links.ts';
import { normalizeEmail, type FieldErrors, type Profile, type SessionUser } from './values.ts';

export { normalizeEmail, type FieldErrors, type Profile, type SessionUser };

export { passwordProblem };
export { HashingBusy } from './passwords.ts';
export type { SignupProcessing, SignupRecord } from './signups.ts';
export type { SignedIn, SignInStep, SecondStepOutcome } from './sign-in.ts';
export { CONFIRMATION_MS } from './sign-in.ts';
export type { PasskeyView, Adding } from './passkeys.ts';

/** Too many failed password checks for this email lately: refused without checking the password. */
export type Throttled = { ok: false; reason: 'throttled'; retryAfterSeconds: number };
/** A correct password ends in the sign-in pipeline: signed in, or a second step to take. */
export type Login = { ok: true; step: SignInStep } | { ok: false; reason: 'invalid_credentials' } | Throttled;
export type SignupConfirmation =
  | { ok: true; step: SignInStep }
  | Exclude<import('./signups.ts').SignupConfirmation, { ok: true }>;
export type PasswordChange =
  | { ok: true; user: SessionUser }
  | { ok: false; reason: 'wrong_password' | 'invalid'; fields: FieldErrors }
  // A reset or another change committed between checking the current password and writing the new one.
  | { ok: false; reason: 'changed_meanwhile' }
  | Throttled;
export type ResetRequest = 'sent' | 'unknown_email' | 'throttled';
export type Reset =
  | { ok: true; userId: number }
  | { ok: false; reason: 'invalid_token' }
  | { ok: false; reason: 'invalid'; fields: FieldErrors }
  // Two-step accounts: the second factor is asked inside the reset; the link is not used up meanwhile.
  | { ok: false; reason: 'second_step_required' | 'invalid_code' }
  // A passkey as that factor: no live reset challenge of this session, or not a user-verified passkey of the owner's.
  | { ok: false; reason: 'passkey_challenge_expired' | 'invalid_passkey' }
  | { ok: false; reason: 'locked'; retryAfterSeconds: number };
/** The second factor inside a reset: a code, a recovery code, or a passkey's answer to this session's reset challenge. */
export type ResetProof = SecondFactorProof | { passkey: { challengeId: number | undefined; response: AuthenticationResponseJSON } };
export type ResetPasskeyOptions =
  | { ok: true; challengeId: number; options: PublicKeyCredentialRequestOptionsJSON }
  | { ok: false; reason: 'invalid_token' | 'no_passkeys' };

export type AccountsOptions = {
  orm: Orm;
  resetThrottleSeconds: number;
  /** Counts failed password checks per email (login and every current-password check together). */
  loginThrottle: LoginThrottleApi;
  signupThrottleSeconds: number;
  /** At most one sign-in link email per account in this window (silently); SIGN_IN_LINK_THROTTLE_SECONDS. */
  signInLinkThrottleSeconds?: number;
  /** MFA_ENCRYPTION_KEY: seals two-step secrets at rest. */
  mfaKeys: readonly MfaKey[];
  /** How long a recorded request waits before its account-dependent work (requests.ts); random by default. */
  workDelay?: WorkDelay;
  /** Passkeys: APP_BASE_URL's host (rpID) and origin, never a request's. Without it no passkey verifies. */
  relyingParty?: RelyingParty;
  now?: () => Date;
};

export type Accounts = ReturnType<typeof createAccounts>;


// For callers that use no passkeys (some tests): an origin no browser has, so nothing verifies.
const NO_RELYING_PARTY: RelyingParty = { id: 'passkeys.invalid', origin: 'https://passkeys.invalid', name: 'Inkwell' };

// The jobs that carry a recorded forgot-password request, and a failed sign-in, to their work.
const RESET_REQUEST_JOB = 'password-reset-request';
const FAILED_SIGN_IN_JOB = 'sign-in-failed';

export function createAccounts({
  orm, resetThrottleSeconds, signupThrottleSeconds, signInLinkThrottleSeconds = 60, loginThrottle, mfaKeys,
  workDelay = randomWorkDelay, relyingParty = NO_RELYING_PARTY, now = () => new Date(),
}: AccountsOptions) {
  const em = () => orm.em.fork();
  const activity = createActivity({ orm, now });
  const sessions = createSessions({ orm, now, activity });
  // Sign-up (signups.ts): its functions join this API, and its jobs join this domain's jobs.
  const { jobs: signupJobs, confirmSignup: confirmSignupLink, ...signups } = createSignups({
    orm, throttleSeconds: signupThrottleSeconds, workDelay, now,
  });
  const box = createSecretBox(mfaKeys);
  const secondStep = createSecondStep({ orm, now, box });
  // The one sign-in pipeline (sign-in.ts): every first factor below ends in signIn.beginSignIn.
  const twoStep = createTwoStep({ orm, now, box, secondStep, activity, loginThrottle });
  // Lost factor: a removal in 72 hours that a full sign-in or "This wasn't me" cancels.
  const removal = createTwoStepRemoval({
    orm, now, secondStep, changed: twoStep.changed,
    pendingUser: (pendingId) => signIn.pendingUserId(pendingId),
  });
  const changes = createAccountChanges({
    orm, now, activity, loginThrottle, addressWindowSeconds: signupThrottleSeconds,
    onSecured: (tx, userId, client) => removal.cancelTwoStepRemoval(userId, client, tx) });
  const signIn = createSignIn({
    orm,
    now,
    secondStep,
    // A wrong second factor after a correct first one: an event each time, an email at most hourly.
    onSecondStepFailed: async (userId, client) => {
      await activity.record(userId, 'second_step_failed', client);
      if (await secondStep.claimFailureNotice(userId)) {
        await em().transactional((tx) => queueEmail(tx, 'two-step-changed', { userId, change: 'second_step_failed' }));
      }
    },
    onRecoveryCodeUsed: (userId, left) => em().transactional((tx) => twoStep.changed(tx, userId, 'recovery_code_used', 'code_used', null, left)),
    // Every path's sign-in is recorded here, in the transaction that completes it, before any session opens.
    onSignedIn: async ({ user, methods }, client, tx) => {
      // The sign-up's own first sign-in is the baseline new devices are compared with: it warns of none.
      await recordSignIn(tx, user.id, client, { signUp: methods[0] === 'signup_link' });
      // Any full sign-in means the owner still has a way in: a lost-factor removal stops. One factor
      // alone (password, link) is a full sign-in only for accounts without two-step: nothing to cancel.
      if (methods.length > 1 || methods[0] === 'passkey') await removal.cancelTwoStepRemoval(user.id, client, tx);
    },
  });

  // Sign-in links (sign-in-links.ts): a first factor like the password, ending in the same pipeline.
  const { jobs: signInLinkJobs, ...signInLinks } = createSignInLinks({
    orm, now, throttleSeconds: signInLinkThrottleSeconds, workDelay, activity,
    beginSignIn: (user, method, client) => signIn.beginSignIn(user, method, { client }),
  });
  const passkeys = createPasskeys({ orm, now, relyingParty, activity, signIn });

  /** Creates the account from its sign-up link, and signs in through the pipeline like any first factor. */
  async function confirmSignup(
    token: unknown, choice: { password: string; username?: string }, client: Client | null = null,
  ): Promise<SignupConfirmation> {
    const outcome = await confirmSignupLink(token, choice);
    if (!outcome.ok) return outcome;
    return { ok: true, step: await signIn.beginSignIn(outcome.user, 'signup_link', { client }) };
  }

  async function findUser(id: number): Promise<Profile | null> {
    // Every signed-in request asks: only what a Profile holds (not the password hash).
    const user = await em().findOne(User, { id }, { fields: ['username', 'email', 'credentialVersion', 'createdAt', 'pictureHash'] });
    return user && profileOf(user);
  }

  /**
   * `signal` aborts when the client has gone, so no argon2 work is spent on an abandoned login. The
   * sign-in (by the pipeline) or the failure is on record before this returns, so before any answer.
   */
  async function logIn(input: { email: string; password: string; client?: Client | null }, signal?: AbortSignal): Promise<Login> {
    const email = normalizeEmail(input.email);
    const client = input.client ?? null;
    // The same insert for every email, account or not: the account is looked up by the job, at a
    // moment no request can pick out (requests.ts), so the failure of a real account costs nothing more.
    const failed = async (): Promise<Login> => {
      await recordRequest(em(), FAILED_SIGN_IN_JOB, { email, client }, workDelay());
      return { ok: false, reason: 'invalid_credentials' };
    };
    // Before anything about the account is known, and the same for every email: checked without the
    // password (else the throttle would be a password oracle) and counted before the check.
    const attempt = await loginThrottle.attempt(email);
    if (!attempt.ok) return { ok: false, reason: 'throttled', retryAfterSeconds: attempt.retryAfterSeconds };
    const db = em();
    // A plain row, not an entity: building an entity costs more when the account exists, and the
    // bench's login_timing saw that difference (~0.1 ms) through the answer's timing.
    const user = await db
      .createQueryBuilder(User)
      .select(['id', 'passwordHash', 'credentialVersion'])
      .where({ email })
      .execute<Pick<User, 'id' | 'passwordHash' | 'credentialVersion'> | undefined>('get');
    if (!user) {
      // Same argon2 work as a wrong password, so timing does not reveal which emails have accounts.
      await verifyAgainstNothing(input.password, signal);
      return failed();
    }
    const check = await verifyPassword(user.passwordHash, input.password, signal);
    if (!check.ok) return failed();
    await loginThrottle.clear(email);
    if (check.needsRehash) {
      // Upgrade to the current parameters, unless the password changed meanwhile.
      await db.nativeUpdate(
        User,
        { id: user.id, credentialVersion: user.credentialVersion },
        { passwordHash: await hashPassword(input.password) },
      );
    }
    return { ok: true, step: await signIn.beginSignIn({ id: user.id, credentialVersion: user.credentialVersion }, 'password', { client }) };
  }

  /**
   * Sets a new password after checking the current one. Every session of the user ends
   * (the caller opens a fresh one for the browser that asked) and reset links stop working.
   */
  async function changePassword(
    userId: number,
    input: { currentPassword: string; newPassword: string },
    signal?: AbortSignal,
    client: Client | null = null,
  ): Promise<PasswordChange> {
    const user = await em().findOne(User, { id: userId });
    if (!user) return { ok: false, reason: 'wrong_password', fields: { current_password: 'Your current password is not correct.' } };
    const problem = passwordProblem(input.newPassword, user);
    if (problem) return { ok: false, reason: 'invalid', fields: { new_password: problem } };
    // A guess at the current password is a guess like a login's (account-changes.ts): counted per email,
    // and a wrong one is an event the owner sees.
    const check = await changes.checkCurrentPassword(user, input.currentPassword, client, signal);
    if (!check.ok) {
      return check.reason === 'throttled' ? check : { ok: false, reason: 'wrong_password', fields: { current_password: 'Your current password is not correct.' } };
    }
    const passwordHash = await hashPassword(input.newPassword, signal);
    // Only over the credentials just checked: a reset that committed meanwhile must not be undone
    // by a change that an attacker with the old password and a stolen session had started before it.
    const stored = await em().transactional(async (tx) => {
      const written = await writePassword(tx, userId, passwordHash, user.credentialVersion);
      if (written) {
        await queueEmail(tx, 'password-changed', { userId, how: 'change' });
        await activity.record(userId, 'password_changed', client, tx);
      }
      return written;
    });
    if (stored === null) return { ok: false, reason: 'changed_meanwhile' };
    return { ok: true, user: { id: userId, credentialVersion: stored.credentialVersion } };
  }

  /**
   * Records a forgot-password request before it is answered: one insert, the same whatever the
   * address, so neither the answer nor its timing depends on the account. Its job starts at a moment
   * no request can pick out (requests.ts); a crash before that loses nothing, as any instance sweeps it up.
   */
  async function recordResetRequest(email: string, client: Client | null = null): Promise<void> {
    // The client (a truncated address, a User-Agent) rides along for the activity log; no secret.
    await recordRequest(em(), RESET_REQUEST_JOB, { email: normalizeEmail(email), client }, workDelay());
  }

  /**
   * The work behind a recorded request: queues a reset email if the address belongs to an account
   * and its throttle window is free. In the job's transaction when given one, so the request ends
   * exactly when its email is queued. The link is minted when the email is sent (notifier.ts).
   */
  async function requestPasswordReset(email: string, tx?: EntityManager, client: Client | null = null): Promise<ResetRequest> {
    if (!tx) return em().transactional((own) => requestPasswordReset(email, own, client));
    const user = await tx.findOne(User, { email: normalizeEmail(email) });
    if (!user) return 'unknown_email';
    await activity.record(user.id, 'password_reset_requested', client, tx);
    if (!(await claimAccountWindow(tx, user.id, 'resetRequestedAt', now(), resetThrottleSeconds))) return 'throttled';
    await queueEmail(tx, 'reset-instructions', { userId: user.id });
    return 'sent';
  }

  /** Whether a reset link is live. Never consumes it: mail scanners open links too. */
  async function checkResetToken(token: unknown): Promise<boolean> {
    return (await resetLinkStatus(token)) !== 'invalid';
  }

  /** A live reset link, and whether its reset will ask for the second factor (two-step accounts). */
  async function resetLinkStatus(token: unknown): Promise<'invalid' | 'live' | 'needs_second_step'> {
    const tokenHash = hashIfWellFormed(token);
    const owner = tokenHash === null ? null : await tokens.findLiveToken(em(), tokenHash, now());
    if (owner === null) return 'invalid';
    return (await secondStep.isOn(owner)) ? 'needs_second_step' : 'live';
  }

  /**
   * Sets a new password with a reset link. Ends every session; does not log anyone in. For a two-step
   * account the second factor comes with it (a mailbox alone must not take the account over, nor end
   * its owner's sessions), checked before the link is used; two-step stays on.
   */
  async function resetPassword(
    token: unknown, newPassword: string, proof?: ResetProof, client: Client | null = null,
  ): Promise<Reset> {
    const tokenHash = hashIfWellFormed(token);
    const ownerId = tokenHash === null ? null : await tokens.findLiveToken(em(), tokenHash, now());
    if (tokenHash === null || ownerId === null) return { ok: false, reason: 'invalid_token' };
    const account = await em().findOne(User, { id: ownerId });
    const problem = passwordProblem(newPassword, account ?? {});
    if (problem) return { ok: false, reason: 'invalid', fields: { new_password: problem } };
    if (await secondStep.isOn(ownerId)) {
      if (!proof) return { ok: false, reason: 'second_step_required' };
      if ('passkey' in proof) {
        // Only the owner's passkey counts (checkAssertion), and its challenge is gone either way; the link stays.
        const checked = await passkeys.resetWithPasskey(ownerId, proof.passkey.challengeId, proof.passkey.response);
        if (!checked.ok) return { ok: false, reason: checked.reason === 'expired_challenge' ? 'passkey_challenge_expired' : 'invalid_passkey' };
      } else {
        const checked = await secondStep.check(ownerId, proof, { recoveryCodes: true });
        if (!checked.ok) return checked.reason === 'locked' ? checked : { ok: false, reason: 'invalid_code' };
      }
    }

    const passwordHash = await hashPassword(newPassword);
    const user = await em().transactional(async (tx) => {
      // Claim the token before writing the password: of two concurrent redemptions, one wins.
      const owner = await tokens.claimToken(tx, tokenHash, now());
      if (owner === null) return null;
      const written = await writePassword(tx, owner, passwordHash);
      await queueEmail(tx, 'password-changed', { userId: owner, how: 'reset' });
      await activity.record(owner, 'password_reset_completed', client, tx);
      return written;
    });
    if (user === null) return { ok: false, reason: 'invalid_token' };
    // The owner proved themselves through their inbox: an attacker's storm of failures ends here.
    await loginThrottle.clear(user.email);
    return { ok: true, userId: user.id };
  }

  /**
   * Passkey options for the second step inside a reset: the link owner's passkeys, a challenge bound to
   * that owner (and, by the caller, to the session). Never consumes the link.
   */
  async function resetPasskeyOptions(token: unknown, replaces?: number): Promise<ResetPasskeyOptions> {
    const tokenHash = hashIfWellFormed(token);
    const ownerId = tokenHash === null ? null : await tokens.findLiveToken(em(), tokenHash, now());
    if (ownerId === null) return { ok: false, reason: 'invalid_token' };
    if ((await passkeys.listPasskeys(ownerId)).length === 0) return { ok: false, reason: 'no_passkeys' };
    return { ok: true, ...(await passkeys.passkeyOptions('reset', ownerId, replaces)) };
  }

  /** Housekeeping: expired links are useless, so they need not be kept. */
  function deleteExpiredResetTokens(): Promise<number> {
    return tokens.deleteExpiredTokens(em(), now());
  }

  /**
   * Writes the hash, bumps the credential version, and ends every session and reset link at once.
   * With `expectedVersion`, writes only if the credentials are still that version (else null).
   * Returns the user as now stored.
   */
  async function writePassword(tx: EntityManager, userId: number, passwordHash: string, expectedVersion?: number): Promise<User | null> {
    if (!(await revokeCredentials(tx, userId, { passwordHash }, now(), expectedVersion))) return null;
    return tx.findOneOrFail(User, { id: userId }, { refresh: true });
  }

  /**
   * Records a sign-in in `tx` (the pipeline's, which completes it: onSignedIn above), and emails the
   * owner when it came from a device family and address range the account has not signed in from
   * lately, a dormant account's too (no sign-in on record is the credential-stuffing case, not a
   * reason for silence). Only the sign-up's own first sign-in is the baseline that warns of nothing.
   */
  async function recordSignIn(tx: EntityManager, userId: number, client: Client | null, how: { signUp?: boolean }): Promise<void> {
    // Without a client (a caller of the domain, not a browser) there is no device to compare or name.
    const familiar = client ? await activity.isFamiliarSignIn(userId, client, tx) : true;
    await activity.record(userId, 'sign_in', client, tx);
    if (familiar || how.signUp || !client) return;
    const signIn = { userId, device: describeDevice(client.userAgent), ip: client.ip, at: now().toISOString() };
    await queueEmail(tx, 'new-sign-in', signIn);
  }

  /** What the account page shows beside the profile: live sessions and recent activity. */
  async function securityOverview(userId: number, currentSessionId: string | undefined) {
    const [sessionList, activityList] = await Promise.all([sessions.list(userId, currentSessionId), activity.list(userId)]);
    return { sessions: sessionList, activity: activityList };
  }

  /** Housekeeping: security activity is kept for 90 days. */
  function pruneOldActivity(): Promise<number> {
    return activity.prune();
  }

  /** The durable jobs this domain runs (registered with the job runner by buildApp). */
  const jobs: Record<string, JobHandler> = {
    [RESET_REQUEST_JOB]: {
      // Ends in the transaction that queues the email; then the row (an address anyone typed) is deleted.
      transactional: true,
      forget: true,
      run: async ({ email, client }: { email: string; client?: Client | null }, tx) =>
        void (await requestPasswordReset(email, tx, client ?? null)),
    },
    [FAILED_SIGN_IN_JOB]: {
      // Counted into the account's activity, if the address has an account; the row goes with it.
      transactional: true,
      forget: true,
      run: async ({ email, client }: { email: string; client: Client | null }, tx) => activity.recordFailedSignIn(email, client, tx),
    },
  };

  return {
    findUser, logIn, confirmSignup, changePassword, recordResetRequest, requestPasswordReset, checkResetToken, resetLinkStatus,
    resetPassword, resetPasskeyOptions, deleteExpiredResetTokens, pruneOldActivity, securityOverview,
    ...changes,
    ...signups,
    ...signInLinks,
    ...twoStep,
    ...passkeys,
    ...removal,
    beginSignIn: signIn.beginSignIn,
    pendingSignIn: signIn.pendingSignIn,
    completeSecondStep: signIn.completeSecondStep,
    cancelPendingSignIn: signIn.cancelPending,
    deleteExpiredPendingSignIns: signIn.deleteExpiredPending,
    jobs: { ...jobs, ...signupJobs, ...signInLinkJobs },
    listActivity: activity.list,
    listSessions: sessions.list,
    endSession: sessions.end,
    endOtherSessions: sessions.endOthers,
  };
}

function profileOf(user: Pick<User, 'id' | 'username' | 'email' | 'credentialVersion' | 'createdAt' | 'pictureHash'>): Profile {
  const { id, username, email, credentialVersion, createdAt, pictureHash } = user;
  return { id, username, email, credentialVersion, createdAt, pictureHash: pictureHash ?? null };
}
