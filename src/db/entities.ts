// Inkwell's tables, declared once for SQLite and Postgres.
import { defineEntity, p } from '@mikro-orm/core';

const UserSchema = defineEntity({
  name: 'User',
  tableName: 'user',
  properties: {
    id: p.integer().primary(),
    username: p.string().length(32).unique(),
    email: p.string().length(254).unique(),
    passwordHash: p.string().length(255),
    // Bumped by every password change; sessions opened under an older value are logged out.
    credentialVersion: p.integer().default(1),
    // Bumped by every change of address (confirmed or restored): orders the addresses the account has
    // had, so a "This wasn't me" link from a later address cannot void one sent to an earlier address.
    emailVersion: p.integer().default(0),
    // When the last reset email was sent: the throttle window is claimed by one conditional update.
    resetRequestedAt: p.datetime().nullable(),
    // The profile picture: the hash that names its row in `picture` (null: initials are shown instead).
    pictureHash: p.string().length(64).nullable().index(),
    // When the last sign-in link was sent: its throttle window, claimed the same way.
    signInLinkRequestedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
});
export class User extends UserSchema.class {}
UserSchema.setClass(User);

const PasswordResetTokenSchema = defineEntity({
  name: 'PasswordResetToken',
  tableName: 'password_reset_token',
  properties: {
    id: p.integer().primary(),
    user: () => p.manyToOne(User).deleteRule('cascade').index().ref(),
    tokenHash: p.string().length(64).unique(),
    expiresAt: p.datetime().index(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class PasswordResetToken extends PasswordResetTokenSchema.class {}
PasswordResetTokenSchema.setClass(PasswordResetToken);

const SessionSchema = defineEntity({
  name: 'Session',
  tableName: 'session',
  properties: {
    // SHA-256 of the id in the cookie: a copy of this table cannot be used to sign in.
    sidHash: p.string().length(64).primary(),
    // What the owner sees and revokes by; random, so nothing of the cookie can be rebuilt from it.
    publicId: p.string().length(32).unique(),
    // Beside the data so that every session of one user ends in one statement.
    user: () => p.manyToOne(User).deleteRule('cascade').nullable().index().ref(),
    data: p.text(),
    // Truncated (IPv4 /24, IPv6 /48) before it reaches the database.
    ip: p.string().length(64).nullable(),
    userAgent: p.string().length(512).nullable(),
    createdAt: p.datetime(),
    // Written at most once per SESSION_SEEN_EVERY_MS, so a page view writes nothing.
    lastSeenAt: p.datetime().index(),
    expiresAt: p.datetime().index(),
  },
});
export class Session extends SessionSchema.class {}
SessionSchema.setClass(Session);

const SecurityEventSchema = defineEntity({
  name: 'SecurityEvent',
  tableName: 'security_event',
  properties: {
    id: p.integer().primary(),
    user: () => p.manyToOne(User).deleteRule('cascade').index().ref(),
    kind: p.string().length(40),
    at: p.datetime().index(),
    // Never a secret: a truncated address and a device summary ("Firefox on Linux").
    ip: p.string().length(64).nullable(),
    device: p.string().length(120).nullable(),
    // Failed sign-ins are counted into one row per window instead of one row each.
    count: p.integer().default(1),
  },
});
export class SecurityEvent extends SecurityEventSchema.class {}
SecurityEventSchema.setClass(SecurityEvent);

const AccountTokenSchema = defineEntity({
  name: 'AccountToken',
  tableName: 'account_token',
  properties: {
    id: p.integer().primary(),
    user: () => p.manyToOne(User).deleteRule('cascade').index().ref(),
    // 'email_change' (confirm a new address), 'secure' ("This wasn't me"), 'two_step_removal' or 'sign_in' (a sign-in link).
    purpose: p.string().length(20),
    // SHA-256 of the emailed token, set when the email is sent; null until then.
    tokenHash: p.string().length(64).nullable().unique(),
    // email_change: the new address; secure: the address the notice went to (restored if changed away).
    email: p.string().length(254).nullable(),
    // secure: the account's emailVersion when the notice's address was the account's (see User).
    emailVersion: p.integer().default(0),
    expiresAt: p.datetime().index(),
    createdAt: p.datetime(),
    // secure: when the event the notice reports happened; "This wasn't me" removes passkeys added since.
    reportedAt: p.datetime().nullable(),
  },
});
export class AccountToken extends AccountTokenSchema.class {}
AccountTokenSchema.setClass(AccountToken);

const JobSchema = defineEntity({
  name: 'Job',
  tableName: 'job',
  properties: {
    id: p.integer().primary(),
    // What to do: a handler registered under this name (e.g. `email:reset-instructions`).
    kind: p.string().length(64),
    // JSON with ids and plain values only: never a link, a token or anything secret.
    payload: p.text(),
    attempts: p.integer().default(0),
    // When the job is next due; while claimed, when the claimer's lease runs out.
    runAt: p.datetime().index(),
    finishedAt: p.datetime().nullable(),
    deadAt: p.datetime().nullable(),
    createdAt: p.datetime(),
  },
});
export class Job extends JobSchema.class {}
JobSchema.setClass(Job);

// Per-client counters of the per-IP rate limits: one row per limiter and client, shared by every
// instance on the database (issue "limits"). A row whose window has passed starts over at its next hit.
const RateLimitHitSchema = defineEntity({
  name: 'RateLimitHit',
  tableName: 'rate_limit_hit',
  properties: {
    // "<limiter>:<client address>", e.g. "login:203.0.113.7".
    bucket: p.string().length(100).primary(),
    hits: p.integer(),
    resetsAt: p.datetime().index(),
  },
});
export class RateLimitHit extends RateLimitHitSchema.class {}
RateLimitHitSchema.setClass(RateLimitHit);

// Consecutive failed logins per normalised email, whether or not an account has it. Keyed by the
// email's SHA-256, so the table does not collect the addresses people typed.
const LoginThrottleSchema = defineEntity({
  name: 'LoginThrottle',
  tableName: 'login_throttle',
  properties: {
    emailHash: p.string().length(64).primary(),
    failures: p.integer(),
    lastFailedAt: p.datetime().index(),
    // Until when every login for this email is answered 429 without a password check.
    blockedUntil: p.datetime(),
  },
});
export class LoginThrottle extends LoginThrottleSchema.class {}
LoginThrottleSchema.setClass(LoginThrottle);


const PostSchema = defineEntity({
  name: 'Post',
  tableName: 'post',
  properties: {
    id: p.integer().primary(),
    // Deleting an account deletes its posts, in the database itself.
    author: () => p.manyToOne(User).deleteRule('cascade').ref(),
    title: p.string().length(200),
    body: p.text(),
    // Plain text for lists, made once on write so the feed never reads (or renders) whole bodies.
    excerpt: p.string().length(300),
    // The body rendered when it was written, so no reader ever makes the server render Markdown;
    // `renderedWith` is the renderer's version then: an older one is rendered again (src/posts/markdown.ts).
    html: p.text().default(''),
    renderedWith: p.integer().default(0),
    // 'draft' or 'published'; a published post is public from `publishedAt` on (later = scheduled).
    status: p.string().length(16).default('published'),
    publishedAt: p.datetime().nullable(),
    // The readable part of /posts/:id-:slug; the id decides, so a changed slug only redirects.
    slug: p.string().length(100).default('post'),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
  // Newest first, with the id breaking ties: the feed and an author's page each walk one index (keyset).
  indexes: [
    { name: 'post_published_at_id_index', properties: ['publishedAt', 'id'] },
    { name: 'post_author_id_published_at_id_index', properties: ['author', 'publishedAt', 'id'] },
  ],
});
export class Post extends PostSchema.class {}
PostSchema.setClass(Post);

/**
 * A sign-up waiting for its address to confirm it: written by the recorded request's job once it
 * knows the address has no account. The account exists only once the emailed link is used.
 */
const SignupSchema = defineEntity({
  name: 'Signup',
  tableName: 'signup',
  properties: {
    id: p.integer().primary(),
    // Not unique: usernames and addresses are claimed by the user table when the link is used.
    username: p.string().length(32),
    email: p.string().length(254).index(),
    // argon2id of the password typed at sign-up; the plain password is never stored.
    passwordHash: p.string().length(255),
    // SHA-256 of the emailed link's token, set when the email is composed (sent); null before that.
    tokenHash: p.string().length(64).nullable().unique(),
    expiresAt: p.datetime().index(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class Signup extends SignupSchema.class {}
SignupSchema.setClass(Signup);

/** One row per address that was sent a sign-up email lately: the per-address throttle, claimed atomically. */
const SignupThrottleSchema = defineEntity({
  name: 'SignupThrottle',
  tableName: 'signup_throttle',
  properties: {
    email: p.string().length(254).primary(),
    expiresAt: p.datetime().index(),
  },
});
export class SignupThrottle extends SignupThrottleSchema.class {}
SignupThrottleSchema.setClass(SignupThrottle);

/**
 * A profile picture as served: a 300×300 WebP made by src/pictures/images.ts, named by the SHA-256 of
 * its bytes (so its address never changes meaning and can be cached forever). Users point at it by
 * hash; a row nobody points at is swept by housekeeping.
 */
const PictureSchema = defineEntity({
  name: 'Picture',
  tableName: 'picture',
  properties: {
    hash: p.string().length(64).primary(),
    bytes: p.blob(),
    // Touched whenever someone points at it again, so the sweep's grace period counts from the last use.
    createdAt: p.datetime().index(),
  },
});
export class Picture extends PictureSchema.class {}
PictureSchema.setClass(Picture);

// The same window for email-change confirmations: at most one per target address per window, silently,
// so the account page cannot be used to flood a stranger's inbox (issue 30, finding 6).
const EmailChangeThrottleSchema = defineEntity({
  name: 'EmailChangeThrottle',
  tableName: 'email_change_throttle',
  properties: {
    email: p.string().length(254).primary(),
    expiresAt: p.datetime().index(),
  },
});
export class EmailChangeThrottle extends EmailChangeThrottleSchema.class {}
EmailChangeThrottleSchema.setClass(EmailChangeThrottle);
/**
 * An account's authenticator (TOTP): one row once setup starts; two-step is on once `enabledAt` is set
 * (only after a correct code). The second-step limits live here too, per account, shared by instances.
 */
const TwoStepSchema = defineEntity({
  name: 'TwoStep',
  tableName: 'two_step',
  properties: {
    id: p.integer().primary(),
    user: () => p.manyToOne(User).deleteRule('cascade').unique().ref(),
    // AES-256-GCM under MFA_ENCRYPTION_KEY ("keyId:iv:ciphertext:tag"): a copy of the database alone
    // cannot mint codes.
    secret: p.string().length(255),
    enabledAt: p.datetime().nullable(),
    // The last time step a code was accepted for: only newer ones are accepted (replay).
    lastStep: p.integer().nullable(),
    // Second-step failures in a row, and until when the second step is locked after too many.
    failures: p.integer().default(0),
    lockedUntil: p.datetime().nullable(),
    // When the owner was last emailed about a wrong second factor (at most once an hour).
    failureNoticedAt: p.datetime().nullable(),
    // Lost factor: when two-step turns off unless a full sign-in or "This wasn't me" cancels it.
    removalDueAt: p.datetime().nullable().index(),
    removalWarnedAt: p.datetime().nullable(),
    createdAt: p.datetime(),
  },
});
export class TwoStep extends TwoStepSchema.class {}
TwoStepSchema.setClass(TwoStep);

/** One-time recovery codes: only their SHA-256 is kept; a used code keeps its row (usedAt) until new ones replace it. */
const RecoveryCodeSchema = defineEntity({
  name: 'RecoveryCode',
  tableName: 'recovery_code',
  properties: {
    id: p.integer().primary(),
    user: () => p.manyToOne(User).deleteRule('cascade').index().ref(),
    codeHash: p.string().length(64).unique(),
    usedAt: p.datetime().nullable(),
    createdAt: p.datetime(),
  },
});
export class RecoveryCode extends RecoveryCodeSchema.class {}
RecoveryCodeSchema.setClass(RecoveryCode);

/** A sign-in whose first factor passed and whose second has not yet: signed in for no route. */
const PendingSignInSchema = defineEntity({
  name: 'PendingSignIn',
  tableName: 'pending_sign_in',
  properties: {
    id: p.integer().primary(),
    user: () => p.manyToOne(User).deleteRule('cascade').index().ref(),
    // The first factor: 'password', 'email_link', 'passkey', ...
    method: p.string().length(20),
    // A password change or reset in between makes the pending sign-in worthless.
    credentialVersion: p.integer(),
    triesLeft: p.integer(),
    expiresAt: p.datetime().index(),
    createdAt: p.datetime(),
  },
});
export class PendingSignIn extends PendingSignInSchema.class {}
PendingSignInSchema.setClass(PendingSignIn);

/** Each account's WebAuthn user handle: random, so a passkey tells nothing of the database id or the email. */
const PasskeyUserSchema = defineEntity({
  name: 'PasskeyUser',
  tableName: 'passkey_user',
  properties: {
    id: p.integer().primary(),
    user: () => p.manyToOne(User).deleteRule('cascade').unique().ref(),
    // 32 random bytes, base64url: what authenticators store and return as `userHandle`.
    handle: p.string().length(64).unique(),
    createdAt: p.datetime(),
  },
});
export class PasskeyUser extends PasskeyUserSchema.class {}
PasskeyUserSchema.setClass(PasskeyUser);

/** A passkey (WebAuthn credential) of an account: a public key, never a secret. */
const PasskeySchema = defineEntity({
  name: 'Passkey',
  tableName: 'passkey',
  properties: {
    id: p.integer().primary(),
    user: () => p.manyToOne(User).deleteRule('cascade').index().ref(),
    // base64url of the credential id (at most 1023 bytes by the spec).
    credentialId: p.string().length(1400).unique(),
    // base64url of the COSE public key.
    publicKey: p.text(),
    // The signature counter; 0 forever for synced passkeys.
    counter: p.bigint('number'),
    // Comma-separated hints for the browser ("internal,hybrid").
    transports: p.string().length(200).nullable(),
    // 'singleDevice' or 'multiDevice' (synced).
    deviceType: p.string().length(20),
    backedUp: p.boolean(),
    aaguid: p.string().length(36),
    name: p.string().length(64),
    createdAt: p.datetime().index(),
    lastUsedAt: p.datetime().nullable(),
  },
});
export class Passkey extends PasskeySchema.class {}
PasskeySchema.setClass(Passkey);

/**
 * A WebAuthn challenge waiting for its answer: only its SHA-256, for one ceremony, for the one session
 * that holds its id, 5 minutes. Deleting the row is the claim (single use).
 */
const PasskeyChallengeSchema = defineEntity({
  name: 'PasskeyChallenge',
  tableName: 'passkey_challenge',
  properties: {
    id: p.integer().primary(),
    // 'register', 'sign_in' or 'confirm'.
    ceremony: p.string().length(20),
    challengeHash: p.string().length(64),
    // The signed-in user a registration or confirmation is for; null for a sign-in.
    user: () => p.manyToOne(User).deleteRule('cascade').nullable().index().ref(),
    expiresAt: p.datetime().index(),
    createdAt: p.datetime(),
  },
});
export class PasskeyChallenge extends PasskeyChallengeSchema.class {}
PasskeyChallengeSchema.setClass(PasskeyChallenge);

// Parents before children: db:copy inserts in this order, so every foreign key holds as rows arrive.
export const entities = [
  User, PasswordResetToken, Session, SecurityEvent, AccountToken, Job, RateLimitHit, LoginThrottle, Post, Signup, SignupThrottle,
  EmailChangeThrottle,
  TwoStep, RecoveryCode, PendingSignIn,
  Picture,
  PasskeyUser, Passkey, PasskeyChallenge,
];
