// One function per email the account system sends. Delivery happens in the background.
import type { Mailer } from '../mail/mailer.ts';
import { renderEmail } from '../mail/templates.ts';
import type { SignupLinks } from './signups.ts';

type Recipient = { username: string; email: string };

export type Notifier = ReturnType<typeof createNotifier>;

export function createNotifier(mailer: Mailer) {
  return {
    sendResetInstructions(user: Recipient, link: string, lifetimeMinutes: number): void {
      const body = renderEmail('reset-password', { username: user.username, link, lifetime: lifetime(lifetimeMinutes) });
      mailer.deliver({ to: user.email, subject: 'Reset your Inkwell password', ...body }, 'reset-instructions');
    },

    sendSignupConfirmation(signup: Recipient, link: string, lifetimeMinutes: number): void {
      const body = renderEmail('signup-confirm', { username: signup.username, link, lifetime: lifetime(lifetimeMinutes) });
      mailer.deliver({ to: signup.email, subject: 'Confirm your email to create your Inkwell account', ...body }, 'signup-confirmation');
    },

    /** To the owner of an address someone tried to sign up with: no confirmation link, only the way in. */
    sendAccountExists(user: Recipient, links: Pick<SignupLinks, 'logIn' | 'forgotPassword'>): void {
      const body = renderEmail('signup-account-exists', { username: user.username, logIn: links.logIn, forgotPassword: links.forgotPassword });
      mailer.deliver({ to: user.email, subject: 'You already have an Inkwell account', ...body }, 'signup-account-exists');
    },

    sendPasswordChanged(user: Recipient, how: 'reset' | 'change'): void {
      const body = renderEmail('password-changed', { username: user.username, how });
      mailer.deliver({ to: user.email, subject: 'Your Inkwell password was changed', ...body }, 'password-changed');
    },
  };
}

function lifetime(minutes: number): string {
  if (minutes % 60 === 0) return minutes === 60 ? '1 hour' : `${minutes / 60} hours`;
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}
