// Secrets that must be read back (the TOTP key) are stored sealed: AES-256-GCM under MFA_ENCRYPTION_KEY,
// tagged with the key id, so a copy of the database alone mints no codes and keys can rotate.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { MfaKey } from '../config.ts';

// GCM's standard nonce size; random per seal, so one key can seal billions of secrets safely.
const IV_BYTES = 12;

export type SecretBox = { seal: (plain: Buffer) => string; open: (sealed: string) => Buffer | null };

/** The first key seals; every key opens, found by the id stored in front of the ciphertext. */
export function createSecretBox(keys: readonly MfaKey[]): SecretBox {
  const [current] = keys;
  if (!current) throw new Error('createSecretBox needs at least one key');
  const byId = new Map(keys.map((k) => [k.id, k.key]));

  function seal(plain: Buffer): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current.key, iv);
    // The key id is bound as associated data: a ciphertext cannot be relabelled to another key.
    cipher.setAAD(Buffer.from(current.id));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return [current.id, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join(':');
  }

  /** null when the key id is unknown or the ciphertext was altered (never a partial plaintext). */
  function open(sealed: string): Buffer | null {
    const [id, iv, body, tag] = sealed.split(':');
    const key = byId.get(id ?? '');
    if (!key || !iv || !body || !tag) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(id!));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
    } catch {
      return null;
    }
  }

  return { seal, open };
}
