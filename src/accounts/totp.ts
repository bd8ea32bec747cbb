// Authenticator codes (RFC 6238: SHA-1, 6 digits, 30 s). The only importer of otpauth.
import { Secret, TOTP } from 'otpauth';

const TOTP_PERIOD_SECONDS = 30;
// One step either side: a phone's clock a little off, or a code typed as it turned over.
const WINDOW = 1;
// RFC 4226's recommended secret length (160 bits).
const SECRET_BYTES = 20;

export function newTotpSecret(): Buffer {
  return Buffer.from(new Secret({ size: SECRET_BYTES }).bytes);
}

export function base32Of(secret: Buffer): string {
  return new Secret({ buffer: Uint8Array.from(secret).buffer }).base32;
}

/** The otpauth:// address an authenticator app reads from the QR code. */
export function otpauthUri(secret: Buffer, account: string): string {
  return totpFor(secret, account).toString();
}

/**
 * The time step the code belongs to (within ±1 of now), or null. The caller accepts it only if it is
 * newer than the last step accepted for the account, which is what makes a code single use.
 */
export function matchingStep(secret: Buffer, code: string, at: Date): number | null {
  const token = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(token)) return null;
  const delta = totpFor(secret, 'x').validate({ token, timestamp: at.getTime(), window: WINDOW });
  return delta === null ? null : stepAt(at) + delta;
}

function stepAt(at: Date): number {
  return Math.floor(at.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

function totpFor(secret: Buffer, account: string): TOTP {
  return new TOTP({
    issuer: 'Inkwell',
    label: account,
    algorithm: 'SHA1',
    digits: 6,
    period: TOTP_PERIOD_SECONDS,
    secret: new Secret({ buffer: Uint8Array.from(secret).buffer }),
  });
}
