// Tokens for the account page's emails: confirming a new address ('email_change') and "This wasn't me"
// ('secure'). Minted when the email is sent, stored only as SHA-256, claimed at most once.
import type { EntityManager } from '../db/orm.ts';
import { AccountToken } from '../db/entities.ts';
import { claimRow, expiresAfter, lockAccount, mintToken } from './tokens.ts';

export type Purpose = 'email_change' | 'secure';

// A new address is confirmed within a day, as a sign-up is.
export const EMAIL_CHANGE_TTL_MS = 24 * 3600_000;
// Long enough for someone back from a week away to act on a notice.
export const SECURE_TTL_MS = 7 * 24 * 3600_000;

/** A pending change of address: one per account, a newer request replaces the older. Returns its id. */
export async function recordEmailChange(tx: EntityManager, userId: number, newEmail: string, at: Date): Promise<number> {
  // Two requests at once wait for each other, so one pending change is left, not two.
  await lockAccount(tx, userId);
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
 * A "This wasn't me" token for a notice sent to `sentTo` about an event at `reportedAt` (default: now);
 * returns the raw token for the email.
 */
export async function mintSecureToken(tx: EntityManager, userId: number, sentTo: string, at: Date, reportedAt: Date = at): Promise<string> {
  const { token, tokenHash } = mintToken();
  await tx.insert(AccountToken, {
    user: userId, purpose: 'secure', tokenHash, email: sentTo, createdAt: at, expiresAt: expiresAfter(at, SECURE_TTL_MS), reportedAt,
  });
  return token;
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

export function deleteAllOf(tx: EntityManager, userId: number, purpose?: Purpose) {
  return tx.nativeDelete(AccountToken, purpose ? { user: userId, purpose } : { user: userId });
}

export function deleteExpired(em: EntityManager, at: Date) {
  return em.nativeDelete(AccountToken, { expiresAt: { $lte: at } });
}
