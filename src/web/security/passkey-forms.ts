// The shape of the passkey bodies: what @simplewebauthn/browser's startRegistration/startAuthentication
// return, checked field by field before the domain sees it (bounded sizes, base64url only).
import { z } from 'zod';
import { ResetForm, single } from '../forms.ts';
import { InlineConfirmation } from './forms.ts';

const base64url = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*$/, 'Send base64url text.');
// A credential id is at most 1023 bytes (WebAuthn Level 3), 1364 characters of base64url.
const credentialId = base64url(1400);
const SENT_BY_BROWSER = 'Send the credential exactly as navigator.credentials (or @simplewebauthn/browser) returned it.';
const common = {
  id: credentialId,
  rawId: credentialId,
  type: z.literal('public-key'),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
};

export const AssertionResponse = z.object(
  {
    ...common,
    response: z.object({
      clientDataJSON: base64url(4096),
      authenticatorData: base64url(4096),
      signature: base64url(8192),
      userHandle: base64url(128).optional(),
    }),
  },
  { error: SENT_BY_BROWSER },
);

const AttestationResponse = z.object(
  {
    ...common,
    response: z.object({
      clientDataJSON: base64url(4096),
      attestationObject: base64url(12288),
      authenticatorData: base64url(4096).optional(),
      transports: z.array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'])).max(8).optional(),
      publicKeyAlgorithm: z.number().int().optional(),
      publicKey: base64url(4096).optional(),
    }),
  },
  { error: SENT_BY_BROWSER },
);

const passkeyName = single(64, 'a name for the passkey').trim().min(1, 'Give the passkey a name.');

export const PasskeySignInBody = z.object({ response: AssertionResponse });
export const AddPasskeyBody = z.object({ response: AttestationResponse, name: passkeyName.optional() });
export const RenamePasskeyForm = z.object({ name: passkeyName });
/** Adding or removing a passkey: a recent confirmation, or the password (+ code) inline. */
export const PasskeyConfirmation = InlineConfirmation;

/** The reset API: a user-verified passkey (`passkey`, the assertion) is the third way to give a two-step account's second factor. */
export const ResetBody = ResetForm.extend({ passkey: AssertionResponse.optional() }).required({ token: true });
/** The reset page: the script puts the assertion in a hidden field as JSON text (a form carries no objects). */
export const ResetPageForm = ResetForm.extend({
  passkey: single(32_768, 'the passkey answer').transform(jsonOrNothing).pipe(AssertionResponse).optional(),
});
/** Options for a reset's passkey: the token from the body, or else the reset link's cookie. */
export const ResetPasskeyOptionsBody = z.object({ token: single(128, 'the reset token').optional() });

function jsonOrNothing(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
