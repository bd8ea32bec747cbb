// The passkey routes' entries in /api/openapi.json (beside entries.ts, which holds the rest).
import { z } from 'zod';
import type { ApiDoc } from './openapi.ts';
import { INVALID_INPUT, NOT_LOGGED_IN, RATE_LIMITED, SecondStepBody, UserBody, dateTime, error } from './shapes.ts';
import { AddPasskeyBody, PasskeyConfirmation, PasskeySignInBody, RenamePasskeyForm, ResetPasskeyOptionsBody } from '../security/passkey-forms.ts';

const WebAuthnOptions = z.record(z.string(), z.unknown()).meta({
  description: 'WebAuthn options JSON, for @simplewebauthn/browser (`optionsJSON`) or PublicKeyCredential.parse*OptionsFromJSON.',
});
const Passkey = z.object({
  id: z.number(), name: z.string(), created_at: dateTime(), last_used_at: dateTime().nullable(),
  backed_up: z.boolean().meta({ description: 'Synced by its provider (a multi-device passkey).' }),
});
const EXPIRED = error('`passkey_challenge_expired`: no live challenge for this session and ceremony (5 minutes, single use). Ask for options again.');
const REFUSED = error('`invalid_passkey` (signature, origin, user verification, user handle or counter wrong), or `unknown_passkey` ' +
  '(the body also carries `credential_id`, for PublicKeyCredential.signalUnknownCredential).');
const NEEDS_CONFIRMATION = error("`not_authenticated`, or `confirmation_required`: confirm it's you first (POST /api/auth/confirm) or send current_password (+ code).");

export const PASSKEY_API = {
  signInOptions: {
    summary: 'Options to sign in with a passkey',
    description: 'The same for everyone: discoverable credentials only (no `allowCredentials`), user verification required. ' +
      'The challenge is bound to this session, lasts 5 minutes and works once.',
    responses: { 200: { description: 'Request options.', body: WebAuthnOptions }, 429: RATE_LIMITED },
  },
  signIn: {
    summary: 'Sign in with a passkey',
    description: 'The assertion for the options this session got. A user-verified passkey is two factors in one: it signs in ' +
      'even an account with two-step verification on, and finishes a pending sign-in of the same account (after POST /api/auth/login ' +
      'answered `second_step`).',
    body: PasskeySignInBody,
    responses: { 200: { description: 'Signed in (the session cookie is renewed), or the second step of a password sign-in it did not complete.', body: z.union([UserBody, SecondStepBody]) }, 400: EXPIRED, 401: REFUSED, 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
  confirmOptions: {
    summary: "Options to confirm it's you with a passkey",
    session: true,
    responses: { 200: { description: "Request options for this account's passkeys.", body: WebAuthnOptions }, 401: NOT_LOGGED_IN, 429: RATE_LIMITED },
  },
  confirm: {
    summary: "Confirm it's you (sudo mode) with a passkey",
    description: 'A user-verified passkey of this account: for 10 minutes the session may change what needs a confirmation.',
    session: true,
    body: PasskeySignInBody,
    responses: { 204: { description: 'Confirmed.' }, 400: EXPIRED, 401: REFUSED, 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
  resetOptions: {
    summary: 'Options to reset a two-step account\'s password with a passkey',
    description: 'For whoever holds a live reset token (in the body, or the reset link\'s cookie): request options for that ' +
      'account\'s passkeys, user verification required. The challenge is bound to this session and the token\'s account, lasts ' +
      '5 minutes and works once; send the assertion as `passkey` to POST /api/users/reset-password. The token is not used here.',
    body: ResetPasskeyOptionsBody,
    responses: {
      200: { description: "Request options for the account's passkeys.", body: WebAuthnOptions },
      400: error('`invalid_token` (invalid, used or expired), or `no_passkeys` (the account has none: send a code instead).'),
      422: INVALID_INPUT,
      429: RATE_LIMITED,
    },
  },
  registrationOptions: {
    summary: 'Options to add a passkey',
    description: "Needs a recent confirmation or `current_password` (+ `code`) inline. A discoverable credential, user verification " +
      'required, none of this account\'s passkeys again (`excludeCredentials`), no attestation.',
    session: true,
    body: PasskeyConfirmation,
    responses: { 200: { description: 'Creation options.', body: WebAuthnOptions }, 401: NEEDS_CONFIRMATION, 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
  add: {
    summary: 'Add a passkey',
    description: 'The new credential for the options this session got. `name` defaults to the provider (where known) or the browser. ' +
      "The owner is emailed, with a \"This wasn't me\" link that removes every passkey added since.",
    session: true,
    body: AddPasskeyBody,
    responses: {
      201: { description: 'Added.', body: z.object({ passkey: Passkey }) },
      400: error('`passkey_challenge_expired`, or `invalid_passkey`.'),
      401: NEEDS_CONFIRMATION,
      409: error('This passkey is already on an account.'),
      422: INVALID_INPUT,
      429: RATE_LIMITED,
    },
  },
  list: {
    summary: 'Your passkeys',
    description: 'Never a public key or a credential id.',
    session: true,
    responses: { 200: { description: 'Oldest first.', body: z.object({ passkeys: z.array(Passkey) }) }, 401: NOT_LOGGED_IN },
  },
  rename: {
    summary: 'Rename a passkey',
    session: true,
    body: RenamePasskeyForm,
    responses: { 200: { description: 'Renamed.', body: z.object({ passkey: Passkey }) }, 401: NOT_LOGGED_IN, 404: error('You have no passkey with this id.'), 422: INVALID_INPUT },
  },
  remove: {
    summary: 'Remove a passkey',
    description: 'Needs a recent confirmation or `current_password` (+ `code`). The owner is emailed.',
    session: true,
    body: PasskeyConfirmation,
    responses: { 204: { description: 'Removed.' }, 401: NEEDS_CONFIRMATION, 404: error('You have no passkey with this id.'), 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
} satisfies Record<string, ApiDoc>;
