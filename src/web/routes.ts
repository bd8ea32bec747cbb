// The route table: every route with its policy (rate limit, signed-in user) in one place.
import { Router } from 'express';
import type { Accounts } from '../accounts/index.ts';
import type { BackgroundTasks } from '../mail/background.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { Posts } from '../posts/index.ts';
import { api } from './api.ts';
import { mailbox } from './mailbox.ts';
import { requireUser, type Limiters } from './middleware.ts';
import type { PageCache } from './page-cache.ts';
import { pages } from './pages.ts';
import { postPages, requireWriter } from './posts-pages.ts';
import { postsApi } from './posts-api.ts';
import type { ResetLinks } from './reset-links.ts';

export type RouteDeps = {
  accounts: Accounts;
  tasks: BackgroundTasks;
  resetLinks: ResetLinks;
  limit: Limiters;
  /** The dev outbox, in development only; in production /dev/mailbox does not exist. */
  outbox: Mailer['outbox'];
  posts: Posts;
  /** Anonymous readers' pages, served before the session middleware (see app.ts). */
  pageCache: PageCache;
};

export function routes({ accounts, tasks, resetLinks, limit, outbox, posts, pageCache }: RouteDeps): Router {
  const page = pages({ accounts, tasks, resetLinks });
  const json = api({ accounts, tasks, resetLinks });
  const r = Router();

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

  r.post('/api/users', limit.register, json.register);
  r.post('/api/auth/login', limit.login, json.login);
  r.post('/api/auth/logout', json.logout);
  r.get('/api/users/me', requireUser, json.me);
  r.patch('/api/users/me/password', requireUser, json.changePassword);
  r.post('/api/users/forgot-password', limit.forgot, json.forgot);
  r.post('/api/users/reset-password', limit.reset, json.reset);

  // ── The blog (issue "blog"). Reading needs no login; writing needs a user, and changing a post
  // needs its author, which the domain decides. GET /, /posts/:id and /users/:username are also
  // answered from the anonymous page cache before the session middleware (app.ts).
  const post = postPages({ posts, cache: pageCache });
  const postJson = postsApi({ posts });
  r.get('/', post.feed);
  r.get('/posts/new', requireUser, post.showNew);
  r.post('/posts', requireWriter(() => '/posts/new'), post.publish);
  r.post('/posts/preview', requireWriter(() => '/posts/new'), post.preview);
  r.get('/posts/:id', post.showPost);
  r.get('/posts/:id/edit', requireUser, post.showEdit);
  r.post('/posts/:id/edit', requireWriter((req) => req.originalUrl), post.edit);
  r.post('/posts/:id/delete', requireWriter((req) => `/posts/${encodeURIComponent(String(req.params.id))}`), post.remove);
  r.get('/users/:username', post.authorPage);

  r.get('/api/posts', postJson.list);
  r.get('/api/posts/:id', postJson.one);
  r.post('/api/posts', requireUser, postJson.publish);
  r.patch('/api/posts/:id', requireUser, postJson.edit);
  r.delete('/api/posts/:id', requireUser, postJson.remove);
  // ── end of the blog

  if (outbox) {
    const box = mailbox(outbox);
    r.get('/dev/mailbox', box.list);
    r.get('/dev/mailbox/:id', box.message);
  }
  return r;
}
