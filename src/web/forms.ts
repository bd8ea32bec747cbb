// The shape of every form and JSON body. Field names are the same snake_case in both.
import { z } from 'zod';
import { passwordProblem } from '../accounts/index.ts';

export type FieldErrors = Record<string, string>;
export type Parsed<T> = { ok: true; data: T } | { ok: false; fields: FieldErrors };

// Control characters (NUL, CR, LF, ESC, DEL, C1…) have no place in any field: they end SQL strings in
// drivers, split mail headers and forge log lines. Refused here, once, for every form and JSON body.
const CONTROL_CHARACTER = /\p{Cc}/u;
// A text area (a post's body) keeps its line breaks and tabs; every other control character goes.
const CONTROL_CHARACTER_BUT_LINES = /(?![\t\n\r])\p{Cc}/u;

// One string, never an array or object (`email=a&email=b` arrives as an array), and one line of text.
export const single = (max: number, label: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `Enter ${label}.` : `Send ${label} as a single text value.`) })
    .max(max, `That is too long (at most ${max} characters).`)
    .refine((value) => !CONTROL_CHARACTER.test(value), 'Remove the control characters (such as line breaks) from this field.');

/** Like `single`, for text that spans lines; it never reaches a mail header or a log line. */
export const multiline = (max: number, label: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `Enter ${label}.` : `Send ${label} as a single text value.`) })
    .max(max, `That is too long (at most ${max} characters).`)
    .refine((value) => !CONTROL_CHARACTER_BUT_LINES.test(value), 'Remove the control characters from this field.');

// ASCII only: look-alike Unicode addresses cannot collide with a real account's address.
export const email = single(254, 'your email address')
  .trim()
  .pipe(z.email({ error: 'Enter an email address like name@example.com.' }))
  .transform((value) => value.toLowerCase());

const username = single(32, 'a username')
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9_-]{3,32}$/, 'Use 3 to 32 letters, digits, hyphens or underscores.');

// The ceiling only stops absurd input before any hashing; the policy for new passwords is the domain's.
const password = (label: string) => single(1024, label).min(1, `Enter ${label}.`);
const newPassword = (label: string) =>
  password(label).superRefine((value, ctx) => {
    const problem = passwordProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const RegisterForm = z.object({ username, email, password: newPassword('a password') });
export const LoginForm = z.object({
  email: single(254, 'your email address').trim().min(1, 'Enter your email address.'),
  password: password('your password'),
  next: single(2048, 'a return address').optional(),
});
export const ForgotForm = z.object({ email });
export const EmailLinkForm = z.object({ email });
// The page's form may say where to go after signing in (kept only if it is a local path).
export const EmailLinkPageForm = EmailLinkForm.extend({ next: single(2048, 'a return address').optional() });
export const SignInLinkForm = z.object({
  token: single(128, 'the sign-in token').optional(),
  next: single(2048, 'a return address').optional(),
});
export const ResetForm = z.object({
  token: single(128, 'the reset token').optional(),
  new_password: newPassword('a new password'),
  // Two-step accounts: the second factor, inside the reset (one of the two).
  code: single(16, 'the 6-digit code from your authenticator app').optional(),
  recovery_code: single(64, 'a recovery code').optional(),
});
// The password chosen at sign-up binds the link to the person who chose it (issue 30, finding 5). The
// username is only sent when the one chosen at sign-up was taken before the link was used.
export const ConfirmSignupForm = z.object({
  token: single(128, 'the confirmation token').optional(),
  password: password('the password you chose when signing up'),
  username: username.optional(),
});
export const ChangePasswordForm = z.object({
  current_password: password('your current password'),
  new_password: newPassword('a new password'),
});

export const ChangeEmailForm = z.object({
  new_email: single(254, 'your new email address')
    .trim()
    .pipe(z.email({ error: 'Enter an email address like name@example.com.' }))
    .transform((value) => value.toLowerCase()),
  current_password: password('your current password'),
});
export const TokenForm = z.object({ token: single(128, 'the token').optional() });
export const DeleteAccountForm = z.object({ current_password: password('your current password') });

/** Validates a body; expected mistakes become one message per field, never an exception. */
export function parse<T extends z.ZodType>(schema: T, body: unknown): Parsed<z.output<T>> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return { ok: true, data: result.data };
  const fields: FieldErrors = {};
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? 'form');
    fields[key] ??= issue.message;
  }
  return { ok: false, fields };
}

const LOCAL_ORIGIN = 'http://inkwell.invalid';

/**
 * A local path to return to after login, or undefined for anything that could leave the site.
 * Normalised first, then checked: `/.//evil.example` resolves to the path `//evil.example`, which a
 * browser reads as another host, so the check is on what would be sent as the Location.
 */
export function localPath(next: string | undefined): string | undefined {
  if (!next?.startsWith('/')) return undefined;
  const url = new URL(next, LOCAL_ORIGIN);
  const path = url.pathname + url.search;
  return url.origin === LOCAL_ORIGIN && !path.startsWith('//') && !path.startsWith('/\\') ? path : undefined;
}
