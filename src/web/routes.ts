// The route table: every route with its policy (rate limit, signed-in user) in one place.
import { Router } from 'express';
import type { Accounts } from '../accounts/index.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { Mailer } from '../mail/mailer.ts';
import { api } from './api.ts';
import { mailbox } from './mailbox.ts';
import { requireUser, type Limiters } from './middleware.ts';
import { pages } from './pages.ts';
import type { ResetLinks } from './reset-links.ts';
import { signupPages } from './signup-pages.ts';
import type { TokenLinks } from './token-links.ts';

export type RouteDeps = {
  accounts: Accounts;
  jobs: JobRunner;
  resetLinks: ResetLinks;
  confirmLinks: TokenLinks;
  limit: Limiters;
  /** The dev outbox, in development only; in production /dev/mailbox does not exist. */
  outbox: Mailer['outbox'];
};

export function routes({ accounts, jobs, resetLinks, confirmLinks, limit, outbox }: RouteDeps): Router {
  const page = pages({ accounts, jobs, resetLinks });
  const signup = signupPages({ accounts, jobs, confirmLinks });
  const json = api({ accounts, jobs, resetLinks });
  const r = Router();

  r.get('/', page.home);
  r.get('/register', signup.showRegister);
  r.post('/register', limit.register, signup.register);
  r.get('/register/confirm', signup.showConfirm);
  // Guessing links is hopeless at 256 bits, but cheap to stop: the same limit as reset links.
  r.post('/register/confirm', limit.reset, signup.confirm);
  r.get('/login', page.showLogin);
  r.post('/login', limit.login, page.login);
  r.post('/logout', page.logout);
  r.get('/account', requireUser, page.account);
  r.post('/account/password', requireUser, page.changePassword);
  r.get('/forgot-password', page.showForgot);
  r.post('/forgot-password', limit.forgot, page.forgot);
  r.get('/reset-password', page.showReset);
  r.post('/reset-password', limit.reset, page.reset);

  r.post('/api/users', limit.register, json.register);
  r.post('/api/users/confirm', limit.reset, json.confirmSignup);
  r.post('/api/auth/login', limit.login, json.login);
  r.post('/api/auth/logout', json.logout);
  r.get('/api/users/me', requireUser, json.me);
  r.patch('/api/users/me/password', requireUser, json.changePassword);
  r.post('/api/users/forgot-password', limit.forgot, json.forgot);
  r.post('/api/users/reset-password', limit.reset, json.reset);

  if (outbox) {
    const box = mailbox(outbox);
    r.get('/dev/mailbox', box.list);
    r.get('/dev/mailbox/:id', box.message);
  }
  return r;
}
