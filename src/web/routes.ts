// The route table: every route with its policy (rate limit, signed-in user) in one place.
import { Router } from 'express';
import type { Accounts } from '../accounts/index.ts';
import type { BackgroundTasks } from '../mail/background.ts';
import type { Mailer } from '../mail/mailer.ts';
import { api } from './api.ts';
import { API } from './api-docs.ts';
import { showApiReference } from './api-reference.ts';
import { jsonRoutes } from './openapi.ts';
import { mailbox } from './mailbox.ts';
import { requireUser, type Limiters } from './middleware.ts';
import { pages } from './pages.ts';
import type { ResetLinks } from './reset-links.ts';

export type RouteDeps = {
  accounts: Accounts;
  tasks: BackgroundTasks;
  resetLinks: ResetLinks;
  limit: Limiters;
  /** The dev outbox, in development only; in production /dev/mailbox does not exist. */
  outbox: Mailer['outbox'];
};

export function routes({ accounts, tasks, resetLinks, limit, outbox }: RouteDeps): Router {
  const page = pages({ accounts, tasks, resetLinks });
  const json = api({ accounts, tasks, resetLinks });
  const r = Router();

  r.get('/', page.home);
  r.get('/register', page.showRegister);
  r.post('/register', limit.register, page.register);
  r.get('/login', page.showLogin);
  r.post('/login', limit.login, page.login);
  r.post('/logout', page.logout);
  r.get('/account', requireUser, page.account);
  r.post('/account/password', requireUser, page.changePassword);
  r.get('/forgot-password', page.showForgot);
  r.post('/forgot-password', limit.forgot, page.forgot);
  r.get('/reset-password', page.showReset);
  r.post('/reset-password', limit.reset, page.reset);

  // JSON routes: each with its documentation (src/web/api-docs.ts), served at /api/openapi.json.
  const jr = jsonRoutes(r);
  jr.post('/api/users', API.register, limit.register, json.register);
  jr.post('/api/auth/login', API.login, limit.login, json.login);
  jr.post('/api/auth/logout', API.logout, json.logout);
  jr.get('/api/users/me', API.me, requireUser, json.me);
  jr.patch('/api/users/me/password', API.changePassword, requireUser, json.changePassword);
  jr.post('/api/users/forgot-password', API.forgot, limit.forgot, json.forgot);
  jr.post('/api/users/reset-password', API.reset, limit.reset, json.reset);
  jr.get('/api/openapi.json', API.openapi, (_req, res) => void res.json(jr.document()));
  r.get('/docs/api', (req, res) => showApiReference(req, res, jr.document()));

  if (outbox) {
    const box = mailbox(outbox);
    r.get('/dev/mailbox', box.list);
    r.get('/dev/mailbox/:id', box.message);
  }
  return r;
}
