// One function per email the account system sends. Delivery happens in the background.
import type { Mailer } from '../mail/mailer.ts';
import { renderEmail } from '../mail/templates.ts';

type Recipient = { username: string; email: string };

export type Notifier = ReturnType<typeof createNotifier>;

/** Where the account's emails point; built by the web layer from APP_BASE_URL. */
export type NotifierLinks = { forgotPassword: string };

export function createNotifier(mailer: Mailer, links: NotifierLinks) {
  return {
    sendResetInstructions(user: Recipient, link: string, lifetimeMinutes: number): void {
      const body = renderEmail('reset-password', { username: user.username, link, lifetime: lifetime(lifetimeMinutes) });
      mailer.deliver({ to: user.email, subject: 'Reset your Inkwell password', ...body }, 'reset-instructions');
    },

    sendPasswordChanged(user: Recipient, how: 'reset' | 'change'): void {
      const body = renderEmail('password-changed', { username: user.username, how });
      mailer.deliver({ to: user.email, subject: 'Your Inkwell password was changed', ...body }, 'password-changed');
    },

    sendNewSignIn(user: Recipient, signIn: { device: string; ip: string | null; at: Date }): void {
      const body = renderEmail('new-sign-in', {
        username: user.username,
        device: signIn.device,
        ip: signIn.ip ?? 'an unknown address',
        at: signIn.at.toUTCString(),
        forgotLink: links.forgotPassword,
      });
      mailer.deliver({ to: user.email, subject: 'New sign-in to your Inkwell account', ...body }, 'new-sign-in');
    },
  };
}

function lifetime(minutes: number): string {
  if (minutes % 60 === 0) return minutes === 60 ? '1 hour' : `${minutes / 60} hours`;
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}
