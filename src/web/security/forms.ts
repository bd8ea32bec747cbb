// The shape of the two-step forms and JSON bodies: an authenticator code or a recovery code.
import { z } from 'zod';
import { single } from '../forms.ts';
import type { ResetProof } from '../../accounts/index.ts';
import type { AuthenticationResponseJSON } from '../../accounts/passkeys.ts';

// Generous bounds: spaces and dashes are forgiven; the domain decides what a valid code is.
export const code = single(16, 'the 6-digit code from your authenticator app');
export const recoveryCode = single(64, 'a recovery code');

export const SecondStepForm = z
  .object({ code: code.optional(), recovery_code: recoveryCode.optional(), next: single(2048, 'a return address').optional() })
  .refine((v) => (v.code === undefined) !== (v.recovery_code === undefined), {
    message: 'Enter the code from your authenticator app, or a recovery code.',
    path: ['code'],
  });

const currentPassword = single(1024, 'your current password').min(1, 'Enter your current password.');
/** Inline "confirm it's you": both optional, since a recent confirmation of the session also counts. */
export const InlineConfirmation = z.object({ current_password: currentPassword.optional(), code: code.optional() });
export const ConfirmForm = z.object({ password: currentPassword, code: code.optional() });
export const CodeForm = z.object({ code });
export const ConfirmPageForm = z.object({ password: currentPassword, code: code.optional(), next: single(2048, 'a return address').optional() });

/**
 * `{ code }` or `{ recoveryCode }`, as the domain takes it. A page may offer one field for both: a
 * value longer than a 6-digit code (spaces aside) is taken as a recovery code.
 */
export function proofOf(input: { code?: string; recovery_code?: string }) {
  if (input.recovery_code !== undefined) return { recoveryCode: input.recovery_code };
  const code = input.code ?? '';
  return code.replace(/\s/g, '').length > 8 ? { recoveryCode: code } : { code };
}

/**
 * The second factor sent with a reset, if any: a passkey's answer (to the reset challenge this session
 * holds, `challengeId`), or a code or recovery code.
 */
export function resetProofOf(
  input: { code?: string; recovery_code?: string; passkey?: AuthenticationResponseJSON },
  challengeId: number | undefined,
): ResetProof | undefined {
  if (input.passkey !== undefined) return { passkey: { challengeId, response: input.passkey } };
  return input.code === undefined && input.recovery_code === undefined ? undefined : proofOf(input);
}
