// Recovery codes: ten one-time codes for a lost authenticator. Shown once; only their SHA-256 is kept,
// and a use is one conditional UPDATE, so two concurrent uses of one code cannot both win.
import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '../db/orm.ts';
import { RecoveryCode } from '../db/entities.ts';

const RECOVERY_CODE_COUNT = 10;
// 24 characters of base32: 120 bits each, beyond guessing even without a limit (≥ 112 asked).
const CODE_LENGTH = 24;
// Crockford's base32 (lowercase): no i, l, o, u, so what is read aloud or copied by hand survives.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
// When the account page starts warning that the codes are running out.
export const FEW_RECOVERY_CODES = 3;

/** A fresh code, grouped in fours for reading: `k7qm-2xcz-…`. */
function newCode(): string {
  const bytes = randomBytes(CODE_LENGTH);
  // 256 is a multiple of 32, so `% 32` is uniform.
  const chars = [...bytes].map((b) => ALPHABET[b % 32]).join('');
  return chars.match(/.{4}/g)!.join('-');
}

/** Typed codes are forgiving: case, spaces, dashes, and the letters people confuse with digits. */
function normalizeRecoveryCode(typed: string): string {
  return typed.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0');
}

function hashCode(code: string): string {
  return createHash('sha256').update(normalizeRecoveryCode(code)).digest('hex');
}

/** Replaces every code of the user with ten new ones, returned in the clear this once. */
export async function replaceRecoveryCodes(tx: EntityManager, userId: number, at: Date): Promise<string[]> {
  await tx.nativeDelete(RecoveryCode, { user: userId });
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  await tx.insertMany(RecoveryCode, codes.map((code) => ({ user: userId, codeHash: hashCode(code), createdAt: at })));
  return codes;
}

/** Uses a code: true for exactly one caller, however many send it at once. */
export async function useRecoveryCode(tx: EntityManager, userId: number, typed: string, at: Date): Promise<boolean> {
  const normalized = normalizeRecoveryCode(typed);
  if (!/^[0-9a-z]{24}$/.test(normalized)) return false;
  const used = await tx.nativeUpdate(RecoveryCode, { user: userId, codeHash: hashCode(normalized), usedAt: null }, { usedAt: at });
  return used === 1;
}

export function recoveryCodesLeft(tx: EntityManager, userId: number): Promise<number> {
  return tx.count(RecoveryCode, { user: userId, usedAt: null });
}
