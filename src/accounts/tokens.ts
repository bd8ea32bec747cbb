// Emailed one-time tokens, whatever they unlock (a reset, a sign-up, a new address, "This wasn't me"):
// 32 random bytes, stored only as their SHA-256, recognised by shape before any query, and redeemed by
// one conditional delete. Each kind keeps its own table (reset-tokens.ts, signup-tokens.ts, account-tokens.ts).
import { createHash, randomBytes } from 'node:crypto';
import { LockMode, type EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '../db/orm.ts';
import { User } from '../db/entities.ts';

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

export function expiresAfter(at: Date, ms: number): Date {
  return new Date(at.getTime() + ms);
}

type TokenRow = { id: number; tokenHash?: string | null; expiresAt: Date };

/**
 * Deletes a token's row if it still holds this token and is live, and says whether this call did. The
 * delete is the claim: of two concurrent redemptions only one deletes the row, so only one goes on.
 */
export async function claimRow<T extends TokenRow>(tx: EntityManager, entity: EntityClass<T>, row: { id: number; tokenHash: string }, at: Date): Promise<boolean> {
  const where = { id: row.id, tokenHash: row.tokenHash, expiresAt: { $gt: at } };
  return (await tx.nativeDelete(entity, where as never)) === 1;
}

/**
 * Locks the account's row until the transaction ends, so that two "one live link per account" writes
 * (delete the older, insert the new) wait for each other instead of both leaving a link. Postgres takes
 * the lock; SQLite runs one write transaction at a time already, and MikroORM leaves the clause out there.
 */
export async function lockAccount(tx: EntityManager, userId: number): Promise<void> {
  await tx.findOne(User, { id: userId }, { lockMode: LockMode.PESSIMISTIC_WRITE, fields: ['id'] });
}
