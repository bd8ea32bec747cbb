// WebAuthn challenges between the options and the answer: stored only as SHA-256, for one ceremony and
// (for a signed-in user's ceremonies, and a reset's) one user, 5 minutes, claimed by one conditional delete. The web
// layer keeps the row's id in the session that asked, which binds the challenge to that session.
import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '../db/orm.ts';
import { PasskeyChallenge } from '../db/entities.ts';

// 'reset': the second step inside a two-step account's password reset, for the reset link's owner.
export type Ceremony = 'register' | 'sign_in' | 'confirm' | 'reset';

// Long enough to find a phone or a security key; the options' `timeout` says the same to the browser.
export const CHALLENGE_TTL_MS = 5 * 60_000;
// 32 random bytes: unguessable, and more than the spec's minimum of 16.
const CHALLENGE_BYTES = 32;

const hash = (challenge: string) => createHash('sha256').update(challenge).digest('hex');

/** A fresh challenge and its row's id. `replaces` (the session's previous one) is deleted. */
export async function issueChallenge(
  em: EntityManager,
  ceremony: Ceremony,
  userId: number | null,
  at: Date,
  replaces?: number,
): Promise<{ id: number; bytes: Uint8Array<ArrayBuffer> }> {
  if (replaces !== undefined) await em.nativeDelete(PasskeyChallenge, { id: replaces });
  const bytes = new Uint8Array(randomBytes(CHALLENGE_BYTES));
  // The browser hands back exactly this, base64url, inside the signed client data.
  const challenge = Buffer.from(bytes).toString('base64url');
  const id = await em.insert(PasskeyChallenge, {
    ceremony, challengeHash: hash(challenge), user: userId, createdAt: at, expiresAt: new Date(at.getTime() + CHALLENGE_TTL_MS),
  });
  return { id: Number(id), bytes };
}

/**
 * Claims the challenge before anything is verified: the row is deleted (of two concurrent answers one
 * gets it), and what remains is a check of the challenge the authenticator signed against its hash.
 */
export async function claimChallenge(
  em: EntityManager,
  id: number | undefined,
  ceremony: Ceremony,
  userId: number | null,
  at: Date,
): Promise<((challenge: string) => boolean) | null> {
  if (id === undefined) return null;
  const row = await em.findOne(PasskeyChallenge, { id, ceremony, user: userId, expiresAt: { $gt: at } });
  if (!row) return null;
  const claimed = await em.nativeDelete(PasskeyChallenge, { id, challengeHash: row.challengeHash });
  if (claimed !== 1) return null;
  return (challenge) => hash(challenge) === row.challengeHash;
}

export function deleteExpiredChallenges(em: EntityManager, at: Date): Promise<number> {
  return em.nativeDelete(PasskeyChallenge, { expiresAt: { $lte: at } });
}
