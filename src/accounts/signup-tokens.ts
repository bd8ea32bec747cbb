// Sign-up confirmation links: minted when the email is sent, stored only as their SHA-256.
import type { EntityManager } from '../db/orm.ts';
import { Signup } from '../db/entities.ts';
import { expiresAfter, mintToken } from './tokens.ts';

// A day: enough to find the mail the next morning, short enough that a stranger's sign-up does not linger.
export const SIGNUP_TTL_HOURS = 24;

export function signupExpiry(at: Date): Date {
  return expiresAfter(at, SIGNUP_TTL_HOURS * 3600_000);
}

/**
 * Gives a pending sign-up a fresh link, replacing the one before (a retried send mints again, so the
 * newest email's link is the one that works). Null when the sign-up is gone: confirmed, superseded or pruned.
 */
export async function mintSignupLink(em: EntityManager, signupId: number, at: Date): Promise<{ signup: Signup; token: string } | null> {
  const signup = await em.findOne(Signup, { id: signupId, expiresAt: { $gt: at } });
  if (!signup) return null;
  const { token, tokenHash } = mintToken();
  const updated = await em.nativeUpdate(Signup, { id: signupId }, { tokenHash, expiresAt: signupExpiry(at) });
  return updated === 1 ? { signup, token } : null;
}
