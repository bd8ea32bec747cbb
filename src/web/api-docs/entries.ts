// What each JSON route says about itself in /api/openapi.json: request schemas are the forms' own,
// answers are described here. A new JSON route adds its entry here and passes it in the route table.
import { z } from 'zod';
import { EVENT_KINDS } from '../../accounts/activity.ts';
import { PostCreate, PostPatch } from '../posts/forms.ts';
import { ResetBody } from '../security/passkey-forms.ts';
import { ChangeEmailForm, ChangePasswordForm, ConfirmSignupForm, DeleteAccountForm, EmailLinkForm, ForgotForm, LoginForm, RegisterForm, SignInLinkForm, TokenForm } from '../forms.ts';
import type { ApiDoc } from './openapi.ts';
import { ErrorBody, INVALID_INPUT, MessageBody, NOT_LOGGED_IN, RATE_LIMITED, SecondStepBody, UserBody, dateTime, error } from './shapes.ts';
import { CodeForm, ConfirmForm, InlineConfirmation, SecondStepForm, code } from '../security/forms.ts';

// Confirm it's you: two-step accounts add a code to forms that ask for the current password.
const WithCode = { code: code.optional() };

const Author = z.object({
  username: z.string(),
  picture_url: z.string().nullable().meta({ description: 'The author\'s profile picture (a 300×300 WebP), a path on this site; null when there is none.' }),
});
const PostSummaryBody = z.object({
  id: z.number(), title: z.string(),
  slug: z.string().meta({ description: 'The readable part of the address; the id decides, other slugs redirect.' }),
  url: z.string().meta({ format: 'uri', description: 'The post\'s page, absolute (from APP_BASE_URL).' }),
  status: z.enum(['draft', 'published']),
  published_at: dateTime().nullable().meta({ description: 'When it becomes (or became) public; later than now = scheduled; null for a draft.' }),
  excerpt: z.string().meta({ description: 'Plain text, the start of the body.' }),
  author: Author, created_at: dateTime(), updated_at: dateTime(),
});
const PostBody = z.object({
  post: PostSummaryBody.extend({
    body: z.string().meta({ description: 'Markdown, as written.' }),
    html: z.string().meta({ description: 'The body rendered when written: Markdown without raw HTML; links http, https and mailto only.' }),
  }),
});
const NOT_AUTHOR = { description: 'Only the author can change or delete a post.', body: ErrorBody };
const NO_POST = { description: 'There is no post with this id.', body: ErrorBody };
// A current-password check counts toward the email's login throttle like a login (issue 30, finding 2).
const PASSWORD_LIMITED = error('`rate_limited` (this address) or `login_throttled` (too many wrong passwords for this account); `Retry-After` says when.');

export const API = {
  register: {
    summary: 'Sign up',
    description: 'The answer is the same, byte for byte, whether the address is new, already has an account, or has a ' +
      'pending sign-up: a new address gets a confirmation link, a taken one a note without a link. ' +
      'Only the username ("taken") and the password policy are answered at once (422).',
    body: RegisterForm,
    responses: { 202: { description: 'Check your inbox to finish creating your account.', body: MessageBody }, 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
  confirmSignup: {
    summary: 'Create the account with the token from the confirmation email',
    description: 'Needs the password chosen at sign-up (a wrong one is a 422 on `password`, and the link stays usable), so only whoever chose it can finish a sign-up. Logs in (sets the session cookie). `username` picks another name if the one chosen was taken meanwhile.',
    body: ConfirmSignupForm.required({ token: true }),
    responses: {
      201: { description: 'Created and logged in.', body: UserBody },
      400: error('The link is invalid, used, superseded or expired.'),
      409: error('The address got an account meanwhile: log in or reset its password.'),
      422: INVALID_INPUT,
      429: RATE_LIMITED,
    },
  },
  login: {
    summary: 'Log in',
    body: LoginForm,
    responses: {
      200: {
        description: 'Logged in; the session cookie is set. For an account with two-step verification on: `second_step` ' +
          'instead of `user`, and the session is signed in for nothing until POST /api/auth/second-step.',
        body: z.union([UserBody, SecondStepBody]),
      },
      401: error('The email or password is not correct (one answer for both).'),
      422: INVALID_INPUT,
      429: RATE_LIMITED,
    },
  },
  secondStep: {
    summary: 'Finish a two-step sign-in with a code or a recovery code',
    description: 'After POST /api/auth/login answered `second_step`. Send `code` (from the authenticator app) or `recovery_code`. ' +
      'A pending sign-in lasts 10 minutes and allows 5 tries; 10 wrong second factors in a row lock the account\'s second step for 15 minutes.',
    body: SecondStepForm,
    responses: {
      200: { description: 'Signed in; the session cookie is renewed.', body: UserBody },
      401: error('`invalid_code`; or `no_pending_sign_in` (expired, or 5 wrong tries): log in again.'),
      422: INVALID_INPUT,
      429: error('`second_step_locked`: too many wrong codes for this account lately (`Retry-After`); or too many from this address.'),
    },
  },
  confirm: {
    summary: "Confirm it's you (sudo mode) for 10 minutes",
    description: 'The password, plus `code` when two-step verification is on (never a recovery code). ' +
      'For 10 minutes from now (not extended by use) the session may change the email, password, two-step verification, recovery codes and passkeys, or delete the account without asking again.',
    session: true,
    body: ConfirmForm,
    responses: { 204: { description: 'Confirmed.' }, 401: NOT_LOGGED_IN, 422: INVALID_INPUT, 429: error('Too many wrong passwords or codes lately (`Retry-After`).') },
  },
  setUpTwoStep: {
    summary: 'Start setting up two-step verification',
    description: 'Needs a recent confirmation (POST /api/auth/confirm) or `current_password` inline. Answers the secret for the ' +
      'authenticator app; two-step is not on until POST /api/users/me/two-step/confirm gets a correct code.',
    session: true,
    body: InlineConfirmation,
    responses: {
      200: { description: 'Pending, not yet on.', body: z.object({ secret: z.string().meta({ description: 'Base32, for typing into the app.' }), otpauth_uri: z.string() }) },
      401: error('`not_authenticated`, or `confirmation_required`.'),
      409: error('Two-step verification is already on.'),
      422: INVALID_INPUT,
      429: RATE_LIMITED,
    },
  },
  turnOnTwoStep: {
    summary: 'Turn two-step verification on with a code from the app',
    description: 'Answers ten recovery codes, shown this once. Every other session ends (they never passed a second step).',
    session: true,
    body: CodeForm,
    responses: {
      200: { description: 'Two-step verification is on.', body: z.object({ recovery_codes: z.array(z.string()) }) },
      401: NOT_LOGGED_IN,
      409: error('No setup was started.'),
      422: INVALID_INPUT,
      429: RATE_LIMITED,
    },
  },
  turnOffTwoStep: {
    summary: 'Turn two-step verification off',
    description: 'Needs `current_password` and `code` inline, or a recent confirmation.',
    session: true,
    body: InlineConfirmation,
    responses: { 204: { description: 'Off; the recovery codes are gone too.' }, 401: error('`not_authenticated`, or `confirmation_required`.'), 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
  newRecoveryCodes: {
    summary: 'Replace the recovery codes',
    description: 'Needs `current_password` and `code` inline, or a recent confirmation. The old codes stop working at once.',
    session: true,
    body: InlineConfirmation,
    responses: {
      200: { description: 'Ten new codes, shown this once.', body: z.object({ recovery_codes: z.array(z.string()) }) },
      401: error('`not_authenticated`, or `confirmation_required`.'),
      409: error('Two-step verification is off.'),
      422: INVALID_INPUT,
      429: RATE_LIMITED,
    },
  },
  logout: { summary: 'Log out', responses: { 204: { description: 'The session is ended (also when there was none).' } } },
  me: {
    summary: 'The logged-in user',
    session: true,
    responses: {
      200: {
        description: 'Your profile, with whether two-step verification is on and how many recovery codes are left.',
        body: z.object({ user: UserBody.shape.user.extend({ two_step: z.boolean(), recovery_codes_left: z.number() }) }),
      },
      401: NOT_LOGGED_IN,
    },
  },
  changePassword: {
    summary: 'Change your password',
    description: 'Ends your other sessions and emails a notice. With two-step verification on, send `code` too (or confirm first with POST /api/auth/confirm).',
    session: true,
    body: ChangePasswordForm.extend(WithCode),
    responses: {
      200: { description: 'Changed.', body: MessageBody },
      401: NOT_LOGGED_IN,
      409: error('`password_changed_meanwhile`: a reset or another change won the race; this session has ended.'),
      422: INVALID_INPUT,
      429: error('`rate_limited` (this address) or `login_throttled` (too many wrong passwords for this account); `Retry-After` says when.'),
    },
  },
  forgot: {
    summary: 'Ask for a password reset link by email',
    description: 'The answer is the same, byte for byte, whether or not the address has an account.',
    body: ForgotForm,
    responses: { 202: { description: 'If the address has an account, a link is on its way.', body: MessageBody }, 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
  emailLink: {
    summary: 'Ask for a sign-in link by email',
    description: 'The answer is the same, byte for byte, whether or not the address has an account. An account gets a link that ' +
      'works once, for 10 minutes; asking again kills the older link. At most one email per account a minute, silently.',
    body: EmailLinkForm,
    responses: { 202: { description: 'If the address has an account, a link is on its way.', body: MessageBody }, 422: INVALID_INPUT, 429: RATE_LIMITED },
  },
  confirmEmailLink: {
    summary: 'Sign in with the token from a sign-in link email',
    description: 'Uses the link up and sets the session cookie. For an account with two-step verification on: `second_step` ' +
      'instead of `user`, and the session is signed in for nothing until POST /api/auth/second-step.',
    body: SignInLinkForm.pick({ token: true }).required(),
    responses: {
      200: { description: 'Signed in, or the second step to take.', body: z.union([UserBody, SecondStepBody]) },
      400: error('The link is invalid, used, superseded or expired.'),
      422: INVALID_INPUT,
      429: RATE_LIMITED,
    },
  },
  reset: {
    summary: 'Set a new password with the token from the reset email',
    description: 'Ends every session of the account; it does not log in. For an account with two-step verification on, ' +
      'send `code`, `recovery_code` or `passkey` too: the reset never turns two-step off or goes around it. `passkey` is the ' +
      'assertion for the options from POST /api/users/reset-password/passkey/options, in this session, by a user-verified ' +
      'passkey of the account the token is for.',
    body: ResetBody,
    responses: {
      200: { description: 'The password is reset; log in with it.', body: MessageBody },
      400: error('`invalid_token`: the token is invalid, used or expired; or `passkey_challenge_expired`: no live reset challenge for this session (the token still works).'),
      401: error('`second_step_required`, `invalid_code` or `invalid_passkey`: the token was not used and still works.'),
      422: INVALID_INPUT,
      429: error('Too many attempts from this address, or `second_step_locked` for the account (`Retry-After`).'),
    },
  },
  changeEmail: {
    summary: 'Change your email address',
    description: 'Needs the current password. Nothing changes until the new address confirms with the emailed link; ' +
      'the answer is the same, byte for byte, whether or not the new address already has an account. With two-step verification on, send `code` too (or confirm first with POST /api/auth/confirm).',
    session: true,
    body: ChangeEmailForm.extend(WithCode),
    responses: { 202: { description: 'A confirmation link is on its way to the new address.', body: MessageBody }, 401: NOT_LOGGED_IN, 422: INVALID_INPUT, 429: PASSWORD_LIMITED },
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
    description: 'Needs the current password. Deletes the account and everything that is its own in one transaction, and ends the session. With two-step verification on, send `code` too (or confirm first with POST /api/auth/confirm).',
    session: true,
    body: DeleteAccountForm.extend(WithCode),
    responses: {
      204: { description: 'Deleted.' },
      401: NOT_LOGGED_IN,
      409: error('`address_recently_changed`: a "This wasn\'t me" link sent to an earlier address is still live (7 days); deleting would void it.'),
      422: INVALID_INPUT,
      429: PASSWORD_LIMITED,
    },
  },
  setPicture: {
    summary: 'Set your profile picture',
    description: 'A JPEG, PNG, WebP or GIF, recognised by its bytes (not its name or declared type), of at most 5 MiB and ' +
      '50 megapixels. It is turned upright and re-encoded as a 300×300 WebP without metadata (no EXIF, no location). ' +
      'Limited per account.',
    session: true,
    upload: { field: 'picture', description: 'The image file.', mediaTypes: ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] },
    responses: {
      200: { description: 'Your profile with the new `picture_url`.', body: UserBody },
      400: error('Not one file in the field `picture` (other parts, a malformed body).'),
      401: NOT_LOGGED_IN,
      413: error('Over 5 MiB: answered as soon as that is known; the rest of the body is dropped unread (a client still sending a second later is cut off).'),
      415: error('Not a JPEG, PNG, WebP or GIF (SVG and everything else are refused).'),
      422: error('No file, more than 50 megapixels, or an image that cannot be read (damaged, cut short).'),
      429: error('Too many picture changes for this account; `Retry-After` says when to try again.'),
      503: error('Too many pictures are being processed; `Retry-After` says when to try again.'),
    },
  },
  removePicture: {
    summary: 'Remove your profile picture',
    description: 'Your initials show instead. Answers 204 also when there was no picture.',
    session: true,
    responses: { 204: { description: 'Removed.' }, 401: NOT_LOGGED_IN, 429: error('Too many picture changes for this account.') },
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
  listPosts: {
    summary: 'The feed: the 10 newest posts, or a search',
    description: 'Keyset pagination: pass `next_before` from one page as `before` to get the next (older) one. ' +
      'With `q`: the 20 best public posts containing every word (`before` is ignored, `next_before` is null), each with a `snippet`; rate limited.',
    query: z.object({
      before: z.string().optional().meta({ description: 'The id of the last post you have.' }),
      q: z.string().max(200).optional().meta({ description: 'Words to search for (at most 200 characters; the first 8 words count).' }),
    }),
    responses: {
      200: {
        description: 'A page of posts, newest first (or best first for a search).',
        body: z.object({
          posts: z.array(PostSummaryBody.extend({
            snippet: z.string().optional().meta({ description: 'Search only: HTML, the matching text escaped with each match in <mark>.' }),
          })),
          next_before: z.number().nullable(),
        }),
      },
      422: INVALID_INPUT,
      429: error('Too many searches from your network.'),
    },
  },
  post: {
    summary: 'One post',
    description: 'Drafts and scheduled posts are found only by their author; for everyone else they do not exist (404).',
    responses: { 200: { description: 'The post.', body: PostBody }, 404: NO_POST },
  },
  publishPost: {
    summary: 'Publish a post',
    description: 'Published now unless `status` is `draft`, or `published_at` is later (scheduled). The slug comes from the title unless given.',
    session: true,
    body: PostCreate,
    responses: { 201: { description: 'Published (Location: the post).', body: PostBody }, 401: NOT_LOGGED_IN, 422: INVALID_INPUT },
  },
  editPost: {
    summary: 'Change your post',
    description: 'Only the fields sent change (a new title keeps the slug); an `author_id` in the body is ignored. `status: "published"` on a draft publishes it now.',
    session: true,
    body: PostPatch,
    responses: { 200: { description: 'Changed.', body: PostBody }, 401: NOT_LOGGED_IN, 403: NOT_AUTHOR, 404: NO_POST, 422: INVALID_INPUT },
  },
  deletePost: {
    summary: 'Delete your post',
    session: true,
    responses: { 204: { description: 'Deleted.' }, 401: NOT_LOGGED_IN, 403: NOT_AUTHOR, 404: NO_POST },
  },
  openapi: {
    summary: 'This document (OpenAPI 3.1)',
    responses: { 200: { description: 'The OpenAPI document, generated from the schemas that validate requests.' } },
  },
} satisfies Record<string, ApiDoc>;
