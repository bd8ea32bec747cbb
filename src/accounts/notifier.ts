// One function per email the account system sends. Each is queued with an id-only payload inside the
// transaction that makes the change, and composed here when it is sent (src/mail/outbox.ts).
import type { EntityManager } from '../db/orm.ts';
import { User } from '../db/entities.ts';
import { queueEmail, type Composer } from '../mail/outbox.ts';
import { renderEmail } from '../mail/templates.ts';
import * as tokens from './reset-tokens.ts';
import { mintSignupLink, SIGNUP_TTL_HOURS } from './signup-tokens.ts';

/** What each email's job carries: ids and plain values, never a link, a token or an address typed by a visitor. */
export type EmailPayloads = {
  'reset-instructions': { userId: number };
  'password-changed': { userId: number; how: 'reset' | 'change' };
  'signup-confirmation': { signupId: number };
  'signup-account-exists': { userId: number };
};
export type EmailKind = keyof EmailPayloads;

/** Links in emails, built by the web layer from APP_BASE_URL only. */
export type EmailLinks = {
  resetPassword: (token: string) => string;
  confirmSignup: (token: string) => string;
  logIn: string;
  forgotPassword: string;
};

export type NotifierOptions = { links: EmailLinks; resetTokenTtlMinutes: number; now: () => Date };

/** Queues an email in `em`'s transaction; it is sent after the commit, and retried until it is. */
export function queue<K extends EmailKind>(em: EntityManager, kind: K, payload: EmailPayloads[K]): Promise<number> {
  return queueEmail(em, kind, payload);
}

export function createNotifier({ links, resetTokenTtlMinutes, now }: NotifierOptions): { [K in EmailKind]: Composer<EmailPayloads[K]> } {
  return {
    /**
     * Mints the link now, at send time: the raw token exists only in this message. A retried send mints
     * a fresh one and deletes the older, so the newest email's link is always the one that works.
     */
    async 'reset-instructions'({ userId }, em) {
      const user = await em.findOne(User, { id: userId });
      if (!user) return null;
      const token = await em.transactional((tx) => tokens.replaceTokensOf(tx, userId, now(), resetTokenTtlMinutes));
      const body = renderEmail('reset-password', {
        username: user.username,
        link: links.resetPassword(token),
        lifetime: lifetime(resetTokenTtlMinutes),
      });
      return { to: user.email, subject: 'Reset your Inkwell password', ...body };
    },

    async 'password-changed'({ userId, how }, em) {
      const user = await em.findOne(User, { id: userId });
      if (!user) return null;
      const body = renderEmail('password-changed', { username: user.username, how });
      return { to: user.email, subject: 'Your Inkwell password was changed', ...body };
    },

    /** Minted at send time, like reset links; a sign-up confirmed, superseded or expired meanwhile sends nothing. */
    async 'signup-confirmation'({ signupId }, em) {
      const minted = await em.transactional((tx) => mintSignupLink(tx, signupId, now()));
      if (!minted) return null;
      const body = renderEmail('signup-confirm', {
        username: minted.signup.username,
        link: links.confirmSignup(minted.token),
        lifetime: lifetime(SIGNUP_TTL_HOURS * 60),
      });
      return { to: minted.signup.email, subject: 'Confirm your email to create your Inkwell account', ...body };
    },

    /** To the owner of an address someone tried to sign up with: no confirmation link, only the ways in. */
    async 'signup-account-exists'({ userId }, em) {
      const user = await em.findOne(User, { id: userId });
      if (!user) return null;
      const body = renderEmail('signup-account-exists', { username: user.username, logIn: links.logIn, forgotPassword: links.forgotPassword });
      return { to: user.email, subject: 'You already have an Inkwell account', ...body };
    },
  };
}

function lifetime(minutes: number): string {
  if (minutes % 60 === 0) return minutes === 60 ? '1 hour' : `${minutes / 60} hours`;
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}
