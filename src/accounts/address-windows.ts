// The silent windows of emails anyone can ask for (sign-up and email-change confirmations per address,
// reset and sign-in links per account): at most one email per window, so nobody can flood an inbox.
import type { EntityManager } from '../db/orm.ts';
import { EmailChangeThrottle, SignupThrottle, User } from '../db/entities.ts';

/**
 * Takes the address's window in one statement: insert it, or take it over once it has run out. Of
 * concurrent requests for one address exactly one gets it (Postgres makes the second wait on the
 * unique key, then sees the first's window; SQLite has one writer at a time). `seconds` 0 turns it off.
 */
export async function claimAddressWindow(
  tx: EntityManager, table: typeof SignupThrottle | typeof EmailChangeThrottle, email: string, at: Date, seconds: number,
): Promise<boolean> {
  if (seconds === 0) return true;
  const until = new Date(at.getTime() + seconds * 1000);
  const result = await tx
    .createQueryBuilder(table)
    .insert({ email, expiresAt: until })
    .onConflict('email')
    .merge({ expiresAt: until })
    .where({ expiresAt: { $lte: at } })
    .execute('run');
  return result.affectedRows === 1;
}

/**
 * An account's window for an email it is sent on request (a reset link, a sign-in link), kept on the
 * user row: taken by one conditional update, so of concurrent requests one sends. `seconds` 0: always.
 */
export async function claimAccountWindow(
  tx: EntityManager, userId: number, column: 'resetRequestedAt' | 'signInLinkRequestedAt', at: Date, seconds: number,
): Promise<boolean> {
  const windowStart = new Date(at.getTime() - seconds * 1000);
  const open = seconds > 0 ? { $or: [{ [column]: null }, { [column]: { $lte: windowStart } }] } : {};
  return (await tx.nativeUpdate(User, { id: userId, ...open }, { [column]: at })) === 1;
}
