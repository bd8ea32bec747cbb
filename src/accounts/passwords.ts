// Password hashing and policy: the only importer of argon2.
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';
import { dictionary } from '@zxcvbn-ts/language-common';

// OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane); raise these and hashes upgrade at login.
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

// One hash per core at a time: each keeps a core busy. More at once would not finish sooner, only
// queue in libuv's thread pool ahead of file reads and DNS and crowd out the event loop's thread.
export const HASHING_SLOTS = availableParallelism();

// NIST SP 800-63B: at least 8; the ceiling only stops hashing megabytes of input.
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

// zxcvbn-ts's list of the ~30,000 most common passwords, compared case-insensitively.
const COMMON_PASSWORDS = new Set(dictionary['passwords-common'].map((word) => word.toLowerCase()));

/** Why a new password is refused, or null when it is acceptable. No composition rules, by design. */
export function passwordProblem(password: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  if (COMMON_PASSWORDS.has(password.toLowerCase())) return 'This password is too common; choose another.';
  return null;
}

export function hashPassword(password: string): Promise<string> {
  return inHashingSlot(() => argon2.hash(password, ARGON2_OPTIONS));
}

export type Verification = { ok: boolean; needsRehash: boolean };

export async function verifyPassword(hash: string, password: string): Promise<Verification> {
  const ok = await inHashingSlot(() => argon2.verify(hash, password));
  return { ok, needsRehash: ok && argon2.needsRehash(hash, ARGON2_OPTIONS) };
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same argon2 work as checking a real account, for an email that has none,
 * so the answer's timing does not tell whether the account exists.
 */
export async function verifyAgainstNothing(password: string): Promise<void> {
  dummyHash ??= hashPassword('inkwell-no-such-account');
  const hash = await dummyHash;
  await inHashingSlot(() => argon2.verify(hash, password));
}

let hashing = 0;
const waiting: (() => void)[] = [];

/** Runs argon2 work in one of the HASHING_SLOTS, first come first served. */
async function inHashingSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashing < HASHING_SLOTS) hashing++;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await work();
  } finally {
    // Hand the slot straight to the next in line, or give it back.
    const next = waiting.shift();
    if (next) next();
    else hashing--;
  }
}
