// Password hashing and policy: the only importer of argon2.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import argon2 from 'argon2';

// OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane); raise these and hashes upgrade at login.
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

// One hash per core at a time: each keeps a core busy. More at once would not finish sooner, only
// queue in libuv's thread pool ahead of file reads and DNS and crowd out the event loop's thread.
export const HASHING_SLOTS = availableParallelism();

// The longest a hash may wait for a slot. A request that would wait longer is refused at once (503 +
// Retry-After) rather than queued: a flood of guesses cannot build a queue that takes every user's
// login minutes to get through (issue 18 saw 26-31 s), and a user waits a few seconds at most.
export const MAX_HASHING_WAIT_MS = 5_000;

/** Too many hashes queued: the caller answers 503 with Retry-After. An outage of sorts, so thrown. */
export class HashingBusy extends Error {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('password hashing queue is full');
    this.name = 'HashingBusy';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

// NIST SP 800-63B: at least 8; the ceiling only stops hashing megabytes of input.
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

// zxcvbn-ts's list of the ~30,000 most common passwords, compared case-insensitively. Loaded at the
// first password checked rather than at start-up (~30 ms of a cold start, docs/benchmarks.md).
let commonPasswords: Set<string> | undefined;
function isCommon(word: string): boolean {
  commonPasswords ??= new Set(
    (createRequire(import.meta.url)('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common'))
      .dictionary['passwords-common'].map((common) => common.toLowerCase()),
  );
  return commonPasswords.has(word);
}

// NIST SP 800-63B 3.1.1.2: also refuse the service's name, the account's own names, and repetitive or
// sequential strings. All get the same plain message, and there are no composition rules.
const TOO_EASY = 'This password is too common; choose another.';
const SITE_WORDS = ['inkwell'];
// Runs along these count as sequential, forwards or backwards: "abcdefgh", "87654321", "qwertyui".
const SEQUENCES = ['abcdefghijklmnopqrstuvwxyz', '0123456789', '1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
const MIN_RUN = 3;
// What must remain once the context words are taken out: "alice2026!" or "inkwell rocks" is no password.
const MIN_REST = 6;

export type PasswordContext = { username?: string; email?: string };

/** Why a new password is refused, or null when it is acceptable. No composition rules, by design. */
export function passwordProblem(password: string, context: PasswordContext = {}): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  return easyToGuess(password, contextWords(context)) ? TOO_EASY : null;
}

function easyToGuess(password: string, words: string[]): boolean {
  const folded = password.toLowerCase();
  if (isCommon(folded) || trivial(folded)) return true;
  let rest = folded;
  for (const word of words) rest = rest.replaceAll(word, ' ');
  if (rest === folded) return false;
  const remaining = rest.replace(/\s+/gu, '');
  return [...remaining].length < MIN_REST || isCommon(rest.trim()) || trivial(rest);
}

/** The site's name and the parts of the account's username and email, longest first, 3+ characters. */
function contextWords({ username, email }: PasswordContext): string[] {
  const [local = '', domain = ''] = (email ?? '').toLowerCase().split('@');
  const parts = [username ?? '', local, ...local.split(/[^\p{L}\p{N}]+/u), ...domain.split('.')].map((w) => w.toLowerCase());
  return [...new Set([...SITE_WORDS, ...parts])].filter((w) => [...w].length >= MIN_RUN).sort((a, b) => b.length - a.length);
}

/** Blank, one unit repeated ("abcabcabc"), or made only of runs ("aaaa", "1234abcd", "qwerty123"). */
function trivial(text: string): boolean {
  const chars = [...text.replace(/\s+/gu, '')];
  if (chars.length === 0 || /^(.+?)\1+$/su.test(chars.join(''))) return true;
  // covered[i]: the first i characters split into runs of at least MIN_RUN.
  const covered = [true];
  for (let end = MIN_RUN; end <= chars.length; end++) {
    covered[end] = false;
    for (let start = end - MIN_RUN; start >= 0 && !covered[end]; start--) {
      covered[end] = Boolean(covered[start]) && isRun(chars.slice(start, end));
    }
  }
  return Boolean(covered[chars.length]);
}

function isRun(chars: string[]): boolean {
  const text = chars.join('');
  if (SEQUENCES.some((s) => s.includes(text) || [...s].reverse().join('').includes(text))) return true;
  const codes = chars.map((c) => c.codePointAt(0)!);
  const step = codes[1] - codes[0];
  return Math.abs(step) <= 1 && codes.every((code, i) => i === 0 || code - codes[i - 1] === step);
}

/** `signal` ends the wait when the client has gone: no argon2 work for an answer nobody will read. */
export function hashPassword(password: string, signal?: AbortSignal): Promise<string> {
  return inHashingSlot(() => argon2.hash(password, ARGON2_OPTIONS), signal);
}

export type Verification = { ok: boolean; needsRehash: boolean };

export async function verifyPassword(hash: string, password: string, signal?: AbortSignal): Promise<Verification> {
  const ok = await inHashingSlot(() => argon2.verify(hash, password), signal);
  return { ok, needsRehash: ok && argon2.needsRehash(hash, ARGON2_OPTIONS) };
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same argon2 work as checking a real account, for an email that has none,
 * so the answer's timing does not tell whether the account exists.
 */
export async function verifyAgainstNothing(password: string, signal?: AbortSignal): Promise<void> {
  // Not bound to this request: a refusal or an abandoned client must not leave a failed promise here.
  dummyHash ??= hashPassword('inkwell-no-such-account').catch((err: unknown) => {
    dummyHash = undefined;
    throw err;
  });
  const hash = await dummyHash;
  await inHashingSlot(() => argon2.verify(hash, password), signal);
}

let hashing = 0;
const waiting: { resolve: () => void }[] = [];
// A running average of one hash's wall time, to tell how long a newcomer would wait. Starts pessimistic.
let averageHashMs = 100;
const stats = { started: 0, refused: 0, abandoned: 0 };

/** How many hashes ran, were refused for a full queue, were dropped because their client left, and wait now. */
export function hashingStats() {
  return { ...stats, queued: waiting.length, running: hashing };
}

/** Runs argon2 work in one of the HASHING_SLOTS, first come first served, within MAX_HASHING_WAIT_MS. */
async function inHashingSlot<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  signal?.throwIfAborted();
  if (hashing < HASHING_SLOTS) hashing++;
  else await waitForSlot(signal);
  try {
    // A slot may come free just after the client left; the work would be for no one.
    if (signal?.aborted) {
      stats.abandoned++;
      signal.throwIfAborted();
    }
    stats.started++;
    const started = performance.now();
    const result = await work();
    averageHashMs += (performance.now() - started - averageHashMs) / 8;
    return result;
  } finally {
    // Hand the slot straight to the next in line, or give it back.
    const next = waiting.shift();
    if (next) next.resolve();
    else hashing--;
  }
}

function waitForSlot(signal?: AbortSignal): Promise<void> {
  const expectedWaitMs = Math.ceil((waiting.length + 1) / HASHING_SLOTS) * averageHashMs;
  if (expectedWaitMs > MAX_HASHING_WAIT_MS) {
    stats.refused++;
    throw new HashingBusy(Math.max(1, Math.ceil(expectedWaitMs / 1000)));
  }
  return new Promise<void>((resolve, reject) => {
    const leave = (reason: unknown) => {
      clearTimeout(deadline);
      signal?.removeEventListener('abort', abandon);
      const at = waiting.indexOf(waiter);
      if (at >= 0) waiting.splice(at, 1);
      reject(reason);
    };
    // The client left while waiting: leave the queue, so the slot goes to someone still there.
    const abandon = () => {
      stats.abandoned++;
      leave(signal!.reason);
    };
    // The estimate was too hopeful (hashes slowed down meanwhile): the bound holds anyway.
    const deadline = setTimeout(() => {
      stats.refused++;
      leave(new HashingBusy(Math.ceil(MAX_HASHING_WAIT_MS / 1000)));
    }, MAX_HASHING_WAIT_MS);
    const waiter = {
      resolve: () => {
        clearTimeout(deadline);
        signal?.removeEventListener('abort', abandon);
        resolve();
      },
    };
    signal?.addEventListener('abort', abandon, { once: true });
    waiting.push(waiter);
  });
}
