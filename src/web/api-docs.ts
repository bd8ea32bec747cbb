// What each JSON route says about itself in /api/openapi.json: request schemas are the forms' own,
// answers are described here. A new JSON route adds its entry here and passes it in the route table.
import { z } from 'zod';
import { EVENT_KINDS } from '../accounts/activity.ts';
import { ChangeEmailForm, ChangePasswordForm, DeleteAccountForm, ForgotForm, LoginForm, RegisterForm, ResetForm, TokenForm } from './forms.ts';
import type { Answer, ApiDoc } from './openapi.ts';

export const ErrorBody = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable, machine-readable: invalid_input, invalid_credentials, rate_limited, …' }),
    message: z.string().meta({ description: 'A sentence for a person.' }),
    fields: z.record(z.string(), z.string()).optional().meta({ description: 'One message per field that needs attention.' }),
  }),
});
export const MessageBody = z.object({ message: z.string() });
export const UserBody = z.object({
  user: z.object({ id: z.number(), username: z.string(), email: z.string().meta({ format: 'email' }), created_at: z.string().meta({ format: 'date-time' }) }),
});

const error = (description: string): Answer => ({ description, body: ErrorBody });
export const INVALID_INPUT = error('Some fields need attention (`fields` says which).');
export const NOT_LOGGED_IN = error('No session: log in first.');
export const RATE_LIMITED = error('Too many attempts from this address; `Retry-After` says when to try again.');

export const API = {
  register: {
    summary: 'Create an account',
    body: RegisterForm,
    responses: { 201: { description: 'Created and logged in (the session cookie is set).', body: UserBody }, 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
  login: {
    summary: 'Log in',
    body: LoginForm,
    responses: {
      200: { description: 'Logged in; the session cookie is set.', body: UserBody },
      401: error('The email or password is not correct (one answer for both).'),
      422: INVALID_INPUT,
      429: RATE_LIMITED,
    },
  },
  logout: { summary: 'Log out', responses: { 204: { description: 'The session is ended (also when there was none).' } } },
  me: {
    summary: 'The logged-in user',
    session: true,
    responses: { 200: { description: 'Your profile.', body: UserBody }, 401: NOT_LOGGED_IN },
  },
  changePassword: {
    summary: 'Change your password',
    description: 'Ends your other sessions and emails a notice.',
    session: true,
    body: ChangePasswordForm,
    responses: { 200: { description: 'Changed.', body: MessageBody }, 401: NOT_LOGGED_IN, 422: INVALID_INPUT },
  },
  forgot: {
    summary: 'Ask for a password reset link by email',
    description: 'The answer is the same, byte for byte, whether or not the address has an account.',
    body: ForgotForm,
    responses: { 202: { description: 'If the address has an account, a link is on its way.', body: MessageBody }, 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
  reset: {
    summary: 'Set a new password with the token from the reset email',
    description: 'Ends every session of the account; it does not log in.',
    body: ResetForm.required({ token: true }),
    responses: {
      200: { description: 'The password is reset; log in with it.', body: MessageBody },
      400: error('The token is invalid, used or expired.'),
      422: INVALID_INPUT,
      429: RATE_LIMITED,
    },
  },
  changeEmail: {
    summary: 'Change your email address',
    description: 'Needs the current password. Nothing changes until the new address confirms with the emailed link; ' +
      'the answer is the same, byte for byte, whether or not the new address already has an account.',
    session: true,
    body: ChangeEmailForm,
    responses: { 202: { description: 'A confirmation link is on its way to the new address.', body: MessageBody }, 401: NOT_LOGGED_IN, 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
  confirmEmail: {
    summary: 'Confirm a new email address with the token from its email',
    description: 'Only the user who asked for the change may confirm it. The old address is told, with a "This wasn\'t me" link.',
    session: true,
    body: TokenForm.required({ token: true }),
    responses: {
      200: { description: 'The address is changed.', body: MessageBody },
      400: error('The token is invalid, used, expired or another user\'s.'),
      401: NOT_LOGGED_IN,
      409: error('The address was taken by another account meanwhile.'),
      422: INVALID_INPUT,
      429: RATE_LIMITED,
    },
  },
  deleteAccount: {
    summary: 'Delete your account',
    description: 'Needs the current password. Deletes the account and everything that is its own in one transaction, and ends the session.',
    session: true,
    body: DeleteAccountForm,
    responses: { 204: { description: 'Deleted.' }, 401: NOT_LOGGED_IN, 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
  sessions: {
    summary: 'Where you are signed in',
    description: 'Live sessions, most recently active first. `id` is opaque (never the session id); `ip` is truncated.',
    session: true,
    responses: {
      200: {
        description: 'Your sessions.',
        body: z.object({
          sessions: z.array(z.object({
            id: z.string(), current: z.boolean(), device: z.string(), ip: z.string().nullable(),
            created_at: z.string().meta({ format: 'date-time' }), last_seen_at: z.string().meta({ format: 'date-time' }),
          })),
        }),
      },
      401: NOT_LOGGED_IN,
    },
  },
  endSession: {
    summary: 'Sign one of your sessions out',
    session: true,
    responses: { 204: { description: 'That session has ended.' }, 401: NOT_LOGGED_IN, 404: error('No session of yours has this id.') },
  },
  events: {
    summary: 'Recent security activity',
    description: 'The last 20 events, newest first: sign-ins, failed sign-ins (counted per hour), password and email changes, sessions signed out, account secured.',
    session: true,
    responses: {
      200: {
        description: 'Your recent activity.',
        body: z.object({
          events: z.array(z.object({
            kind: z.enum(EVENT_KINDS), at: z.string().meta({ format: 'date-time' }),
            device: z.string().nullable(), ip: z.string().nullable(), count: z.number(),
          })),
        }),
      },
      401: NOT_LOGGED_IN,
    },
  },
  openapi: {
    summary: 'This document (OpenAPI 3.1)',
    responses: { 200: { description: 'The OpenAPI document, generated from the schemas that validate requests.' } },
  },
} satisfies Record<string, ApiDoc>;
