// Password reset tokens (tokens.ts says how every emailed token is minted, stored and claimed).
import type { EntityManager } from '../db/orm.ts';
import { PasswordResetToken } from '../db/entities.ts';
import { claimRow, expiresAfter, lockAccount, mintToken } from './tokens.ts';

function storeToken(em: EntityManager, userId: number, tokenHash: string, createdAt: Date, expiresAt: Date) {
  return em.insert(PasswordResetToken, { user: userId, tokenHash, createdAt, expiresAt });
}

/** The user id of a live token, without consuming it (a GET must never spend a link). */
export async function findLiveToken(em: EntityManager, tokenHash: string, now: Date): Promise<number | null> {
  const row = await em.findOne(PasswordResetToken, { tokenHash, expiresAt: { $gt: now } });
  return row ? row.user.id : null;
}

/**
 * Deletes the token if it is still live and reports whose it was. The delete is the claim:
 * of two concurrent redemptions only one deletes the row, so only one may go on to set a password.
 */
export async function claimToken(em: EntityManager, tokenHash: string, now: Date): Promise<number | null> {
  const row = await em.findOne(PasswordResetToken, { tokenHash, expiresAt: { $gt: now } });
  return row && (await claimRow(em, PasswordResetToken, { id: row.id, tokenHash }, now)) ? row.user.id : null;
}

/**
 * One live link per account: deletes the account's older tokens, stores a new one's hash, and
 * returns the raw token (for the email being composed; it is never stored).
 */
export async function replaceTokensOf(em: EntityManager, userId: number, at: Date, ttlMinutes: number): Promise<string> {
  // Two sends for one account at once (two instances, or a retry beside a newer request) wait for each other.
  await lockAccount(em, userId);
  const { token, tokenHash } = mintToken();
  await deleteTokensOf(em, userId);
  await storeToken(em, userId, tokenHash, at, expiresAfter(at, ttlMinutes * 60_000));
  return token;
}

export function deleteTokensOf(em: EntityManager, userId: number) {
  return em.nativeDelete(PasswordResetToken, { user: userId });
}

export function deleteExpiredTokens(em: EntityManager, now: Date) {
  return em.nativeDelete(PasswordResetToken, { expiresAt: { $lte: now } });
}

