// The three tables of Inkwell, declared once for SQLite and Postgres.
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
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  },
  // Newest first, with the id breaking ties: the feed and an author's page each walk one index (keyset).
  indexes: [
    { name: 'post_created_at_id_index', properties: ['createdAt', 'id'] },
    { name: 'post_author_id_created_at_id_index', properties: ['author', 'createdAt', 'id'] },
  ],
});
export class Post extends PostSchema.class {}
PostSchema.setClass(Post);

export const entities = [User, PasswordResetToken, Session, Post];
