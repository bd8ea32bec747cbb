// One function per email the account system sends. Each is queued with an id-only payload inside the
// transaction that makes the change, and composed here when it is sent (src/mail/outbox.ts).
import type { EntityManager } from '../db/orm.ts';
import { AccountToken, User } from '../db/entities.ts';
import { queueEmail, type Composer } from '../mail/outbox.ts';
import { renderEmail } from '../mail/templates.ts';
import * as accountTokens from './account-tokens.ts';
import * as tokens from './reset-tokens.ts';
import { mintSignupLink, SIGNUP_TTL_HOURS } from './signup-tokens.ts';
import { passkeyNames } from './passkeys.ts';
import { mintSignInLink, SIGN_IN_LINK_TTL_MS } from './sign-in-links.ts';

/** What each email's job carries: ids and plain values, never a link, a token or an address typed by a visitor. */
export type EmailPayloads = {
  'reset-instructions': { userId: number };
  'password-changed': { userId: number; how: 'reset' | 'change' };
  // Only what the owner is shown: a device summary, a truncated address, the time.
  'new-sign-in': { userId: number; device: string; ip: string | null; at: string };
  // Whether the new address is free is decided at send time: a confirmation link, or a note without one.
  'confirm-email': { changeId: number };
  // Both addresses belonged to the account; the old one is told, with a way to undo.
  // emailVersion: the account's while oldEmail was its address (User.emailVersion).
  'email-changed': { userId: number; oldEmail: string; newEmail: string; emailVersion: number };
  // The account is gone by the time this is sent, so the payload carries what the email needs.
  goodbye: { email: string; username: string };
  'signup-confirmation': { signupId: number };
  'signup-account-exists': { userId: number };
  // Every change to the second factor, and every use or wrong try of it; `left` is recovery codes left.
  'two-step-changed': {
    userId: number;
    change: 'enabled' | 'disabled' | 'codes_renewed' | 'code_used' | 'second_step_failed' | 'removal_started' | 'removal_soon' | 'removal_cancelled' | 'removal_finished';
    left?: number;
  };
  // A passkey added or removed, or refused because its counter went backwards (a cloned key); `at` is when.
  'passkey-changed': { userId: number; change: 'added' | 'removed' | 'counter_regressed'; name: string; at: string };
  // Lost factor: the link that starts the 72-hour removal, minted when the email is sent.
  'two-step-removal-link': { userId: number };
  // "Email me a sign-in link": minted when the email is sent; `next` is a local path, checked before it was recorded.
  'sign-in-link': { userId: number; next?: string };
};
export type EmailKind = keyof EmailPayloads;

/**
 * The emails whose payload holds addresses (email or network, however truncated): their job row is
 * deleted once sent (or given up), instead of being kept a day (a week if undeliverable) like the rest.
 */
export const EMAILS_WITH_ADDRESSES: readonly EmailKind[] = ['email-changed', 'goodbye', 'new-sign-in'];

/** Links in emails, built by the web layer from APP_BASE_URL only. */
export type EmailLinks = {
  resetPassword: (token: string) => string;
  confirmEmail: (token: string) => string;
  confirmSignup: (token: string) => string;
  secure: (token: string) => string;
  removeTwoStep: (token: string) => string;
  signIn: (token: string, next?: string) => string;
  forgotPassword: string;
  logIn: string;
};

export type NotifierOptions = { links: EmailLinks; resetTokenTtlMinutes: number; now: () => Date };

/** Queues an email in `em`'s transaction; it is sent after the commit, and retried until it is. */
export function queue<K extends EmailKind>(em: EntityManager, kind: K, payload: EmailPayloads[K]): Promise<number> {
  return queueEmail(em, kind, payload);
}

export function createNotifier({ links, resetTokenTtlMinutes, now }: NotifierOptions): { [K in EmailKind]: Composer<EmailPayloads[K]> } {
  /** Every security notice carries its own "This wasn't me" link, minted as the notice is sent. */
  const secureLink = async (em: EntityManager, userId: number, sentTo: string, emailVersion: number, reportedAt?: Date) =>
    links.secure(await accountTokens.mintSecureToken(em, userId, sentTo, emailVersion, now(), reportedAt));

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
        // A reset leaves passkeys as they are: the owner sees them here, and can spot one that is not theirs.
        passkeys: await passkeyNames(em, userId),
      });
      return { to: user.email, subject: 'Reset your Inkwell password', ...body };
    },

    async 'password-changed'({ userId, how }, em) {
      const user = await em.findOne(User, { id: userId });
      if (!user) return null;
      const body = renderEmail('password-changed', {
        username: user.username,
        how,
        forgotLink: links.forgotPassword,
        secureLink: await secureLink(em, userId, user.email, user.emailVersion),
        secureLifetime: lifetime(accountTokens.SECURE_TTL_MS / 60_000),
      });
      return { to: user.email, subject: 'Your Inkwell password was changed', ...body };
    },

    async 'new-sign-in'({ userId, device, ip, at }, em) {
      const user = await em.findOne(User, { id: userId });
      if (!user) return null;
      const body = renderEmail('new-sign-in', {
        username: user.username,
        device,
        ip: ip ?? 'an unknown address',
        at: new Date(at).toUTCString(),
        secureLink: await secureLink(em, userId, user.email, user.emailVersion, new Date(at)),
        secureLifetime: lifetime(accountTokens.SECURE_TTL_MS / 60_000),
      });
      return { to: user.email, subject: 'New sign-in to your Inkwell account', ...body };
    },

    async 'confirm-email'({ changeId }, em) {
      const change = await em.findOne(AccountToken, { id: changeId, purpose: 'email_change' }, { populate: ['user'] });
      if (!change) return null; // confirmed, replaced by a newer request, or the account is gone
      const to = change.email!;
      const owner = await em.findOne(User, { email: to }, { fields: ['username'] });
      if (owner) {
        // The address has an account (perhaps this one): its owner learns of the attempt, and nothing can be confirmed.
        await em.nativeDelete(AccountToken, { id: changeId });
        const body = renderEmail('email-taken', { username: owner.username, logIn: links.logIn, forgotPassword: links.forgotPassword });
        return { to, subject: 'Someone tried to use this address for an Inkwell account', ...body };
      }
      const token = await accountTokens.mintForEmailChange(em, changeId, now());
      const body = renderEmail('confirm-email', {
        username: change.user.unwrap().username,
        link: links.confirmEmail(token),
        lifetime: lifetime(accountTokens.EMAIL_CHANGE_TTL_MS / 60_000),
      });
      return { to, subject: 'Confirm your new Inkwell email address', ...body };
    },

    async 'email-changed'({ userId, oldEmail, newEmail, emailVersion }, em) {
      const user = await em.findOne(User, { id: userId });
      if (!user) return null;
      const body = renderEmail('email-changed', {
        username: user.username,
        newEmail: maskEmail(newEmail),
        at: now().toUTCString(),
        // A job queued before addresses were ordered has none: the oldest order, so it wins as it did then.
        secureLink: await secureLink(em, userId, oldEmail, emailVersion ?? 0),
        secureLifetime: lifetime(accountTokens.SECURE_TTL_MS / 60_000),
      });
      return { to: oldEmail, subject: 'The email address of your Inkwell account was changed', ...body };
    },

    async goodbye({ email, username }) {
      const body = renderEmail('goodbye', { username });
      return { to: email, subject: 'Your Inkwell account has been deleted', ...body };
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

    async 'two-step-changed'({ userId, change, left }, em) {
      const user = await em.findOne(User, { id: userId });
      if (!user) return null;
      const body = renderEmail('two-step-changed', {
        username: user.username,
        change,
        left: left ?? 0,
        at: now().toUTCString(),
        secureLink: await secureLink(em, userId, user.email, user.emailVersion),
        secureLifetime: lifetime(accountTokens.SECURE_TTL_MS / 60_000),
      });
      return { to: user.email, subject: TWO_STEP_SUBJECTS[change], ...body };
    },

    /** Its "This wasn't me" link reports the change's own time, so it removes a passkey added then or since. */
    async 'passkey-changed'({ userId, change, name, at }, em) {
      const user = await em.findOne(User, { id: userId });
      if (!user) return null;
      const body = renderEmail('passkey-changed', {
        username: user.username,
        change,
        name,
        at: new Date(at).toUTCString(),
        secureLink: await secureLink(em, userId, user.email, user.emailVersion, new Date(at)),
        secureLifetime: lifetime(accountTokens.SECURE_TTL_MS / 60_000),
      });
      return { to: user.email, subject: PASSKEY_SUBJECTS[change], ...body };
    },

    async 'two-step-removal-link'({ userId }, em) {
      const user = await em.findOne(User, { id: userId });
      if (!user) return null;
      const token = await em.transactional((tx) => accountTokens.mintTwoStepRemovalToken(tx, userId, now()));
      const body = renderEmail('two-step-removal-link', {
        username: user.username,
        link: links.removeTwoStep(token),
        lifetime: lifetime(accountTokens.TWO_STEP_REMOVAL_TTL_MS / 60_000),
      });
      return { to: user.email, subject: 'Remove two-step verification from your Inkwell account?', ...body };
    },

    /** Minted now, like reset links; a retried send mints again and the older link dies. */
    async 'sign-in-link'({ userId, next }, em) {
      const user = await em.findOne(User, { id: userId });
      if (!user) return null;
      const token = await em.transactional((tx) => mintSignInLink(tx, userId, now()));
      const body = renderEmail('sign-in-link', {
        username: user.username,
        link: links.signIn(token, next),
        lifetime: lifetime(SIGN_IN_LINK_TTL_MS / 60_000),
      });
      return { to: user.email, subject: 'Your Inkwell sign-in link', ...body };
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

const TWO_STEP_SUBJECTS: Record<EmailPayloads['two-step-changed']['change'], string> = {
  enabled: 'Two-step verification is on for your Inkwell account',
  disabled: 'Two-step verification was turned off for your Inkwell account',
  codes_renewed: 'New recovery codes for your Inkwell account',
  code_used: 'A recovery code of your Inkwell account was used',
  second_step_failed: 'A wrong two-step code was entered for your Inkwell account',
  removal_started: 'Two-step verification will be removed from your Inkwell account in 72 hours',
  removal_soon: 'Two-step verification will be removed from your Inkwell account in 24 hours',
  removal_cancelled: 'The removal of two-step verification was cancelled',
  removal_finished: 'Two-step verification was removed from your Inkwell account',
};

const PASSKEY_SUBJECTS: Record<EmailPayloads['passkey-changed']['change'], string> = {
  added: 'A passkey was added to your Inkwell account',
  removed: 'A passkey was removed from your Inkwell account',
  counter_regressed: 'A copy of one of your Inkwell passkeys may exist',
};

/** "n•••••@example.com": enough for the owner to recognise, not enough to hand an address to a stranger. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  return `${local.slice(0, 1)}${'•'.repeat(Math.max(3, local.length - 1))}${email.slice(at)}`;
}

/** "1 hour", "24 hours", "7 days", "15 minutes": how long a link works, in words. */
function lifetime(minutes: number): string {
  if (minutes % (24 * 60) === 0 && minutes > 24 * 60) return `${minutes / (24 * 60)} days`;
  if (minutes % 60 === 0) return minutes === 60 ? '1 hour' : `${minutes / 60} hours`;
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}
