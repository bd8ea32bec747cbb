// Ending everything a password, or a stolen session, has opened: one place, so a password change, a
// reset and "This wasn't me" revoke exactly the same things.
import { raw } from '@mikro-orm/core';
import type { EntityManager } from '../db/orm.ts';
import { Session, User } from '../db/entities.ts';
import { deleteAllOf } from './account-tokens.ts';
import { deleteTokensOf } from './reset-tokens.ts';

/**
 * Applies `changes` to the user and bumps the credential version (a session opened under the old one
 * is logged out on its next request, even one that was mid-login), then deletes every session, reset
 * link and sign-in link. With `expectedVersion`, does nothing unless the credentials are still that version.
 * Returns whether it did.
 */
export async function revokeCredentials(
  tx: EntityManager,
  userId: number,
  changes: Partial<Pick<User, 'passwordHash' | 'email'>>,
  at: Date,
  expectedVersion?: number,
): Promise<boolean> {
  const written = await tx.nativeUpdate(
    User,
    expectedVersion === undefined ? { id: userId } : { id: userId, credentialVersion: expectedVersion },
    { ...changes, credentialVersion: raw('credential_version + 1'), updatedAt: at },
  );
  if (written !== 1) return false;
  await deleteTokensOf(tx, userId);
  // A sign-in link is a way in as good as the old password: it goes with it.
  await deleteAllOf(tx, userId, 'sign_in');
  await tx.nativeDelete(Session, { user: userId });
  return true;
}
