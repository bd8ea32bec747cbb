// The route table: every route with its policy (rate limit, signed-in user, no-store) in one place.
// Every answer to a signed-in request is no-store as well (uncachedWhenSignedIn, in app.ts).
import { Router } from 'express';
import type { Accounts } from '../accounts/index.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { Mailer } from '../mail/mailer.ts';
import { accountChanges } from './account-changes.ts';
import { accountSecurity } from './account-security.ts';
import type { AfterAnswer } from './after-answer.ts';
import { api } from './api.ts';
import { mailbox } from './mailbox.ts';
import { noStore, requireUser, type Limiters } from './middleware.ts';
import { pages } from './pages.ts';
import type { ResetLinks } from './reset-links.ts';

export type RouteDeps = {
  accounts: Accounts;
  jobs: JobRunner;
  later: AfterAnswer;
  /** Cookies that carry an emailed token are Secure in production. */
  secureCookies: boolean;
  appBaseUrl: URL;
  resetLinks: ResetLinks;
  limit: Limiters;
  /** The dev outbox, in development only; in production /dev/mailbox does not exist. */
  outbox: Mailer['outbox'];
};

export function routes({ accounts, jobs, later, resetLinks, limit, outbox, secureCookies, appBaseUrl }: RouteDeps): Router {
  const page = pages({ accounts, jobs, later, resetLinks });
  const json = api({ accounts, jobs, later, resetLinks });
  const security = accountSecurity({ accounts, later });
  const changes = accountChanges({ accounts, later, secureCookies, appBaseUrl });
  const r = Router();

  r.get('/', page.home);
  r.get('/register', page.showRegister);
  r.post('/register', limit.register, page.register);
  r.get('/login', page.showLogin);
  r.post('/login', limit.login, page.login);
  r.post('/logout', page.logout);
  r.get('/account', requireUser, page.account);
  r.post('/account/password', requireUser, page.changePassword);
  r.post('/account/email', limit.account, requireUser, changes.changeEmail);
  r.get('/account/email/confirm', changes.showConfirmEmail); // moves the token out of the URL, then asks for a login
  r.post('/account/email/confirm', limit.account, requireUser, changes.confirmEmail);
  r.get('/account/secure', changes.showSecure); // no login: the attacker may hold the only session
  r.post('/account/secure', limit.account, changes.secureAccount);
  r.post('/account/delete', limit.account, requireUser, changes.deleteAccount);
  r.post('/account/sessions/revoke-others', requireUser, security.revokeOthers);
  r.post('/account/sessions/:id/revoke', requireUser, security.revoke);
  // The W3C well-known URL password managers open to change a password.
  r.get('/.well-known/change-password', (_req, res) => res.redirect(302, '/account'));
  r.get('/forgot-password', page.showForgot);
  r.post('/forgot-password', limit.forgot, page.forgot);
  r.get('/reset-password', noStore, page.showReset);
  r.post('/reset-password', limit.reset, noStore, page.reset);

  r.post('/api/users', limit.register, noStore, json.register);
  r.post('/api/auth/login', limit.login, noStore, json.login);
  r.post('/api/auth/logout', json.logout);
  r.get('/api/users/me', requireUser, json.me);
  r.patch('/api/users/me/password', requireUser, json.changePassword);
  r.post('/api/users/me/email', limit.account, requireUser, changes.changeEmailJson);
  r.post('/api/users/me/email/confirm', limit.account, requireUser, changes.confirmEmailJson);
  r.delete('/api/users/me', limit.account, requireUser, changes.deleteAccountJson);
  r.get('/api/users/me/sessions', requireUser, security.listSessionsJson);
  r.delete('/api/users/me/sessions/:id', requireUser, security.deleteSessionJson);
  r.get('/api/users/me/events', requireUser, security.listEventsJson);
  r.post('/api/users/forgot-password', limit.forgot, json.forgot);
  r.post('/api/users/reset-password', limit.reset, noStore, json.reset);

  if (outbox) {
    const box = mailbox(outbox);
    r.get('/dev/mailbox', box.list);
    r.get('/dev/mailbox/:id', box.message);
  }
  return r;
}
