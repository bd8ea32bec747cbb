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

export const entities = [User, PasswordResetToken, Session, Job, Signup, SignupThrottle];
