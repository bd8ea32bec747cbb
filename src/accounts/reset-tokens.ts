// Password reset tokens: minted here, stored only as their SHA-256, claimed at most once.
import { createHash, randomBytes } from 'node:crypto';
import { PostgreSqlPlatform } from '@mikro-orm/postgresql';
import type { EntityManager } from '../db/orm.ts';
import { PasswordResetToken } from '../db/entities.ts';

// 256 bits: unguessable, so a fast hash (not argon2) is enough to protect the copy at rest.
const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function mintToken(): { token: string; tokenHash: string } {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  return { token, tokenHash: hashToken(token) };
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The hash of a token that could be one of ours, or null for anything else (never hits the database). */
export function hashIfWellFormed(token: unknown): string | null {
  return typeof token === 'string' && TOKEN_SHAPE.test(token) ? hashToken(token) : null;
}

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
  const userId = await findLiveToken(em, tokenHash, now);
  if (userId === null) return null;
  const deleted = await em.nativeDelete(PasswordResetToken, { tokenHash, expiresAt: { $gt: now } });
  return deleted === 1 ? userId : null;
}

/**
 * One live link per account: deletes the account's older tokens, stores a new one's hash, and
 * returns the raw token (for the email being composed; it is never stored).
 */
export async function replaceTokensOf(em: EntityManager, userId: number, at: Date, ttlMinutes: number): Promise<string> {
  // Two sends for one account at once (two instances, or a retry beside a newer request) must not both
  // delete and then insert: on Postgres the user's row is locked first, so one waits and one link lives.
  // (SQLite runs one write transaction at a time already.)
  if (em.getPlatform() instanceof PostgreSqlPlatform) await em.execute('select 1 from "user" where id = ? for update', [userId]);
  const { token, tokenHash } = mintToken();
  await deleteTokensOf(em, userId);
  await storeToken(em, userId, tokenHash, at, new Date(at.getTime() + ttlMinutes * 60_000));
  return token;
}

export function deleteTokensOf(em: EntityManager, userId: number) {
  return em.nativeDelete(PasswordResetToken, { user: userId });
}

export function deleteExpiredTokens(em: EntityManager, now: Date) {
  return em.nativeDelete(PasswordResetToken, { expiresAt: { $lte: now } });
}

