// The tables of Inkwell, declared once for SQLite and Postgres.
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
    // When the last reset email was sent: the throttle window is claimed by one conditional update.
    resetRequestedAt: p.datetime().nullable(),
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
    sid: p.string().length(64).primary(),
    // Beside the data so that every session of one user ends in one statement.
    user: () => p.manyToOne(User).deleteRule('cascade').nullable().index().ref(),
    data: p.text(),
    expiresAt: p.datetime().index(),
  },
});
export class Session extends SessionSchema.class {}
SessionSchema.setClass(Session);

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

export const entities = [User, PasswordResetToken, Session, RateLimitHit, LoginThrottle];
