// Tokens for the account page's emails: confirming a new address ('email_change'), "This wasn't me"
// ('secure') and starting the removal of a lost second factor ('two_step_removal'). Minted when the email is sent, stored only as SHA-256, claimed at most once.
import type { EntityManager } from '../db/orm.ts';
import { AccountToken, EmailChangeThrottle } from '../db/entities.ts';
import { claimRow, expiresAfter, lockAccount, mintToken } from './tokens.ts';

export type Purpose = 'email_change' | 'secure' | 'two_step_removal' | 'sign_in';

// A new address is confirmed within a day, as a sign-up is.
export const EMAIL_CHANGE_TTL_MS = 24 * 3600_000;
// Long enough for someone back from a week away to act on a notice.
export const SECURE_TTL_MS = 7 * 24 * 3600_000;

// A lost-factor link starts a removal that itself waits 72 hours; a day to open it is plenty.
export const TWO_STEP_REMOVAL_TTL_MS = 24 * 3600_000;

/** A link that starts removing two-step verification; the newest email's link is the one that works. */
export async function mintTwoStepRemovalToken(tx: EntityManager, userId: number, at: Date): Promise<string> {
  const { token, tokenHash } = mintToken();
  await lockAccount(tx, userId);
  await tx.nativeDelete(AccountToken, { user: userId, purpose: 'two_step_removal' });
  await tx.insert(AccountToken, {
    user: userId, purpose: 'two_step_removal', tokenHash, email: null, createdAt: at, expiresAt: expiresAfter(at, TWO_STEP_REMOVAL_TTL_MS),
  });
  return token;
}

/**
 * A pending change of address: one per account, a newer request replaces the older. Returns its id.
 * The caller holds the account's lock (lockAccount), so two requests at once leave one pending change.
 */
export async function recordEmailChange(tx: EntityManager, userId: number, newEmail: string, at: Date): Promise<number> {
  await tx.nativeDelete(AccountToken, { user: userId, purpose: 'email_change' });
  const id = await tx.insert(AccountToken, {
    user: userId, purpose: 'email_change', tokenHash: null, email: newEmail, createdAt: at,
    expiresAt: expiresAfter(at, EMAIL_CHANGE_TTL_MS),
  });
  return Number(id);
}

/** Gives a pending change a fresh token (the newest email's link is the one that works) and returns it. */
export async function mintForEmailChange(tx: EntityManager, changeId: number, at: Date): Promise<string> {
  const { token, tokenHash } = mintToken();
  await tx.nativeUpdate(AccountToken, { id: changeId }, { tokenHash, expiresAt: expiresAfter(at, EMAIL_CHANGE_TTL_MS) });
  return token;
}

/**
* A "This wasn't me" token for a notice sent to `sentTo`, which was the account's address at
 * `emailVersion` (the user's counter of address changes), about an event at `reportedAt` (default: now);
 * returns the raw token for the email.
 */
export async function mintSecureToken(tx: EntityManager, userId: number, sentTo: string, emailVersion: number, at: Date, reportedAt: Date = at): Promise<string> {
  const { token, tokenHash } = mintToken();
  await tx.insert(AccountToken, {
    user: userId, purpose: 'secure', tokenHash, email: sentTo, emailVersion, createdAt: at, expiresAt: expiresAfter(at, SECURE_TTL_MS), reportedAt,
  });
  return token;
}

/**
 * Until when a "This wasn't me" link sent to an address the account had before its current one
 * (`emailVersion` below the account's) stays live, or null when none does.
 */
export async function earlierAddressLinkLiveUntil(em: EntityManager, userId: number, emailVersion: number, at: Date): Promise<Date | null> {
  const [newest] = await em.find(
    AccountToken,
    { user: userId, purpose: 'secure', emailVersion: { $lt: emailVersion }, expiresAt: { $gt: at } },
    { orderBy: { expiresAt: 'desc' }, limit: 1, fields: ['expiresAt'] },
  );
  return newest?.expiresAt ?? null;
}

/** The live token with this hash, without consuming it (a GET must never spend a link). */
export function findLive(em: EntityManager, purpose: Purpose, tokenHash: string, at: Date): Promise<AccountToken | null> {
  return em.findOne(AccountToken, { purpose, tokenHash, expiresAt: { $gt: at } });
}

/** Deletes the live token (of `userId`, when given) and returns what it held; of concurrent claims one wins. */
export async function claim(tx: EntityManager, purpose: Purpose, tokenHash: string, at: Date, userId?: number): Promise<AccountToken | null> {
  const row = await tx.findOne(AccountToken, { purpose, tokenHash, expiresAt: { $gt: at }, ...(userId === undefined ? {} : { user: userId }) });
  return row && (await claimRow(tx, AccountToken, { id: row.id, tokenHash }, at)) ? row : null;
}

export function deleteAllOf(tx: EntityManager, userId: number, purpose: Purpose) {
  return tx.nativeDelete(AccountToken, { user: userId, purpose });
}

/**
 * What a "This wasn't me" link voids: every pending change of address, and the "This wasn't me" links
 * of its own address and of every later one. Links sent to an address the account had before stay:
 * whoever took the account over from a later address cannot take the owner's way back away.
 */
export function voidFrom(tx: EntityManager, userId: number, emailVersion: number) {
  return tx.nativeDelete(AccountToken, {
    user: userId,
    $or: [{ purpose: 'email_change' }, { purpose: 'secure', emailVersion: { $gte: emailVersion } }],
  });
}

export async function deleteExpired(em: EntityManager, at: Date) {
  await em.nativeDelete(EmailChangeThrottle, { expiresAt: { $lte: at } });
  return em.nativeDelete(AccountToken, { expiresAt: { $lte: at } });
}
