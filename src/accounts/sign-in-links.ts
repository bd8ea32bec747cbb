// Sign-in links ("email me a link"): a first factor proved by the inbox. The request is recorded before
// its answer and looked at only by its job; the link is minted when the email is sent, stored only as its
// SHA-256, lives 10 minutes, works once, and the newest one is the only one that works. Using it goes
// through the one sign-in pipeline, so a two-step account still asks for its second step.
import { claimAccountWindow } from './address-windows.ts';
import type { EntityManager, Orm } from '../db/orm.ts';
import { AccountToken, User } from '../db/entities.ts';
import type { JobHandler } from '../jobs/runner.ts';
import type { createActivity } from './activity.ts';
import type { Client } from './clients.ts';
import * as accountTokens from './account-tokens.ts';
import { maskEmail, queue as queueEmail } from './notifier.ts';
import { recordRequest, type WorkDelay } from './requests.ts';
import type { SignInStep } from './sign-in.ts';
import { expiresAfter, hashIfWellFormed, lockAccount, mintToken } from './tokens.ts';
import { normalizeEmail, type SessionUser } from './values.ts';

// Short: the link is a whole first factor in an inbox, and the person asked for it a moment ago.
export const SIGN_IN_LINK_TTL_MS = 10 * 60_000;

/** What the work after the answer did; nobody but the logs and tests ever sees it. */
export type SignInLinkRequest = 'sent' | 'unknown_email' | 'throttled';
export type SignInWithLink = { ok: true; step: SignInStep } | { ok: false; reason: 'invalid_token' };

// The job that carries a recorded request to the account-dependent work.
const SIGN_IN_LINK_REQUEST_JOB = 'sign-in-link-request';

type Options = {
  orm: Orm;
  now: () => Date;
  throttleSeconds: number;
  /** How long a recorded request waits before its account-dependent work (requests.ts). */
  workDelay: WorkDelay;
  activity: ReturnType<typeof createActivity>;
  beginSignIn: (user: SessionUser, method: 'email_link', client: Client | null) => Promise<SignInStep>;
};

export function createSignInLinks({ orm, now, throttleSeconds, workDelay, activity, beginSignIn }: Options) {
  const em = () => orm.em.fork();

  /**
   * Records a request before it is answered: one insert, the same whatever the address (like a forgot
   * request), so neither the answer nor its timing depends on the account; its job starts at a moment
   * no request can pick out (requests.ts). `next` is a local path, already checked by the caller.
   */
  async function recordSignInLinkRequest(email: string, next: string | null = null, client: Client | null = null): Promise<void> {
    await recordRequest(em(), SIGN_IN_LINK_REQUEST_JOB, { email: normalizeEmail(email), next, client }, workDelay());
  }

  /**
   * The work behind a recorded request: queues a sign-in link email if the address belongs to an
   * account and its throttle window is free. Only accounts get links: a sign-up that was never
   * confirmed has no account, so its address gets nothing.
   */
  async function requestSignInLink(email: string, tx: EntityManager, next: string | null = null, client: Client | null = null): Promise<SignInLinkRequest> {
    const user = await tx.findOne(User, { email: normalizeEmail(email) }, { fields: ['id'] });
    if (!user) return 'unknown_email';
    // The owner sees every request on the account page, throttled or not (a stranger may be at it).
    await activity.record(user.id, 'sign_in_link_requested', client, tx);
    if (!(await claimAccountWindow(tx, user.id, 'signInLinkRequestedAt', now(), throttleSeconds))) return 'throttled';
    await queueEmail(tx, 'sign-in-link', { userId: user.id, ...(next ? { next } : {}) });
    return 'sent';
  }

  /** The masked address ("a•••@example.com") a live link signs in as, for its confirmation page. Never consumes it (mail scanners open links). */
  async function signInLinkOwner(token: unknown): Promise<{ email: string } | null> {
    const tokenHash = hashIfWellFormed(token);
    if (tokenHash === null) return null;
    const row = await accountTokens.findLive(em(), 'sign_in', tokenHash, now());
    const owner = row && (await em().findOne(User, { id: row.user.id }, { fields: ['email'] }));
    return owner ? { email: maskEmail(owner.email) } : null;
  }

  /** Uses a link: claimed first (of two concurrent uses one wins), then the pipeline decides what follows. */
  async function signInWithLink(token: unknown, client: Client | null = null): Promise<SignInWithLink> {
    const tokenHash = hashIfWellFormed(token);
    if (tokenHash === null) return { ok: false, reason: 'invalid_token' };
    const user = await em().transactional(async (tx) => {
      const row = await accountTokens.claim(tx, 'sign_in', tokenHash, now());
      return row && tx.findOne(User, { id: row.user.id }, { fields: ['id', 'credentialVersion'] });
    });
    if (!user) return { ok: false, reason: 'invalid_token' };
    return { ok: true, step: await beginSignIn({ id: user.id, credentialVersion: user.credentialVersion }, 'email_link', client) };
  }

  const jobs: Record<string, JobHandler> = {
    [SIGN_IN_LINK_REQUEST_JOB]: {
      // Ends in the transaction that queues the email; then the row (an address anyone typed) is deleted.
      transactional: true,
      forget: true,
      run: async ({ email, next, client }: { email: string; next?: string | null; client?: Client | null }, tx) =>
        void (await requestSignInLink(email, tx, next ?? null, client ?? null)),
    },
  };

  return { recordSignInLinkRequest, signInLinkOwner, signInWithLink, jobs };
}

/**
 * A fresh link for the account, minted as its email is sent: the older ones are deleted in the same
 * transaction (the newest email's link is the only one that works), and the raw token exists only in
 * the message.
 */
export async function mintSignInLink(tx: EntityManager, userId: number, at: Date): Promise<string> {
  const { token, tokenHash } = mintToken();
  // Two sends at once (a retry beside a newer request) wait for each other, so one link is left.
  await lockAccount(tx, userId);
  await tx.nativeDelete(AccountToken, { user: userId, purpose: 'sign_in' });
  await tx.insert(AccountToken, { user: userId, purpose: 'sign_in', tokenHash, email: null, createdAt: at, expiresAt: expiresAfter(at, SIGN_IN_LINK_TTL_MS) });
  return token;
}
