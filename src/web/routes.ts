// The route table: every route with its policy (rate limit, signed-in user, no-store) in one place.
// Every answer to a signed-in request is no-store as well (uncachedWhenSignedIn, in app.ts).
import { Router } from 'express';
import type { Accounts } from '../accounts/index.ts';
import type { Mailer } from '../mail/mailer.ts';
import { accountChanges } from './accounts/changes.ts';
import { accountSecurity } from './accounts/sessions.ts';
import type { AfterAnswer } from './after-answer.ts';
import type { Posts } from '../posts/index.ts';
import type { Pictures } from '../pictures/index.ts';
import { pictureChanges } from './pictures/changes.ts';
import { api } from './accounts/api.ts';
import { API } from './api-docs/entries.ts';
import { showApiReference } from './api-docs/reference.ts';
import { jsonRoutes } from './api-docs/openapi.ts';
import { devMailbox } from './mailbox.ts';
import { noStore, requireUser, requireUserReturningTo, type Limiters } from './middleware.ts';
import type { PageCache, StaticPages } from './page-cache.ts';
import type { Absolute } from './posts/links.ts';
import { pages } from './accounts/pages.ts';
import { postPages } from './posts/pages.ts';
import { postsApi } from './posts/api.ts';
import { feedRoutes } from './posts/feeds.ts';
import { searchPages } from './posts/search.ts';
import { signupPages } from './accounts/signup-pages.ts';
import { secondStepPages } from './security/second-step.ts';
import { twoStepApi } from './security/two-step.ts';
import { passkeyApi } from './security/passkeys.ts';
import { passkeyPages } from './security/passkey-pages.ts';
import { PASSKEY_API } from './api-docs/passkey-entries.ts';
import { securityPages } from './security/pages.ts';
import { confirmPage } from './security/confirm-page.ts';
import { lostFactorPages } from './security/lost-factor.ts';
import { secondStepToo } from './security/confirm.ts';
import { signInLinkPages } from './security/sign-in-links.ts';
import { ACCOUNT_VIEW, showAccount } from './accounts/view.ts';
import type { LinkCookies } from './token-links.ts';
import type { Logger } from '../log.ts';

type RouteDeps = {
  accounts: Accounts;
  later: AfterAnswer;
  /** Cookies that carry an emailed token are Secure in production. */
  /** Where each emailed link's token waits once it has left the address bar. */
  links: LinkCookies;
  limit: Limiters;
  /** The dev mailbox, in development only; in production /dev/mailbox does not exist. */
  mailbox: Mailer['mailbox'];
  posts: Posts;
  pictures: Pictures;
  /** Anonymous readers' pages, served before the session middleware (see app.ts). */
  pageCache: PageCache;
  /** Absolute addresses from APP_BASE_URL (never from Host): feeds, canonical links, the API's `url`. */
  absolute: Absolute;
  /** Pages the same for every anonymous visitor: `sameForAnonymous` marks them (see app.ts). */
  staticPages: StaticPages;
  /** For what operators must see that no answer shows (a passkey's counter going backwards). */
  log: Logger;
};

export function routes({ accounts, later, links, limit, mailbox, posts, pictures, pageCache, absolute, staticPages, log }: RouteDeps): Router {
  const page = pages({ accounts, later, resetLinks: links.reset });
  const signup = signupPages({ accounts, later, confirmLinks: links.signup });
  const json = api({ accounts, later });
  const security = accountSecurity({ accounts });
  const changes = accountChanges({ accounts, links, pageCache });
  const twoStep = secondStepPages({ accounts });
  const twoStepJson = twoStepApi({ accounts });
  const securityPage = securityPages({ accounts });
  const confirmIdentity = confirmPage({ accounts });
  const lostFactor = lostFactorPages({ accounts, removalLinks: links.twoStepRemoval });
  const emailLink = signInLinkPages({ accounts, later, signInLinks: links.signIn });
  // Confirm it's you on the forms that check current_password: two-step accounts give a code too.
  const withCode = (fragment: string, errorsKey: string) =>
    secondStepToo(accounts, (req, res, errors, status) => showAccount(req, res, accounts, { ...ACCOUNT_VIEW, fragment, status }, { [errorsKey]: errors }));
  const withCodeJson = secondStepToo(accounts);
  const r = Router();
  // Rendered once for anonymous visitors without a query string, then served before the session middleware.
  const sameForAnonymous = staticPages.keep;

  r.get('/register', sameForAnonymous, signup.showRegister);
  r.post('/register', limit.register, signup.register);
  // Emailed links: `fromAddressBar` moves the token into a cookie and answers 303 to the clean address.
  r.get('/register/confirm', noStore, links.signup.fromAddressBar, signup.showConfirm);
  // Every emailed link's route has a budget of its own (RATE_LIMITS).
  r.post('/register/confirm', limit.signupConfirm, noStore, signup.confirm);
  r.get('/login', sameForAnonymous, page.showLogin);
  r.post('/login', limit.login, page.login);
  // The second step of a sign-in (two-step accounts): the per-account limits live in the domain.
  r.get('/login/two-step', noStore, twoStep.showSecondStep);
  r.post('/login/two-step', limit.twoStep, noStore, twoStep.secondStep);
  // Lost factor: after the password, with no recovery codes left; the emailed link starts a 72-hour removal.
  r.post('/login/two-step/lost', limit.forgot, noStore, lostFactor.requestRemoval);
  r.get('/login/two-step/remove', noStore, links.twoStepRemoval.fromAddressBar, lostFactor.showRemoval);
  r.post('/login/two-step/remove', limit.reset, noStore, lostFactor.startRemoval);
  // Sign-in links: one answer for every address; the GET of the emailed link only asks, the button signs in.
  r.get('/login/email', emailLink.showRequest);
  r.post('/login/email', limit.emailLink, emailLink.request);
  r.get('/login/email/confirm', noStore, links.signIn.fromAddressBar, emailLink.showConfirm);
  r.post('/login/email/confirm', limit.emailLinkConfirm, noStore, emailLink.confirm);
  r.post('/logout', page.logout);
  r.get('/account', requireUser, page.account);
  // Checks the current password: a guess like a login's, so it spends the login budget.
  r.post('/account/password', requireUser, limit.login, withCode('password-form', 'errors'), page.changePassword);
  r.post('/account/email', limit.account, requireUser, withCode('email-form', 'emailErrors'), changes.changeEmail);
  r.get('/account/email/confirm', noStore, links.emailChange.fromAddressBar, requireUser, changes.showConfirmEmail);
  r.post('/account/email/confirm', limit.emailConfirm, noStore, requireUser, changes.confirmEmail);
  r.get('/account/secure', noStore, links.secure.fromAddressBar, changes.showSecure); // no login: the attacker may hold the only session
  r.post('/account/secure', limit.secure, noStore, changes.secureAccount);
  r.post('/account/delete', limit.account, requireUser, withCode('delete-form', 'deleteErrors'), changes.deleteAccount);
  // Two-step verification from the account's side; each change asks "confirm it's you" (security/confirm.ts).
  r.get('/account/confirm', requireUser, noStore, confirmIdentity.showConfirm);
  r.post('/account/confirm', limit.account, requireUser, noStore, confirmIdentity.confirm);
  r.get('/account/security', requireUser, securityPage.showSecurity);
  r.post('/account/security/two-step', limit.account, requireUser, securityPage.startSetup);
  r.post('/account/security/two-step/confirm', limit.twoStep, requireUser, securityPage.turnOn);
  r.post('/account/security/two-step/off', limit.account, requireUser, securityPage.turnOff);
  r.post('/account/security/recovery-codes', limit.account, requireUser, securityPage.newRecoveryCodes);
  r.post('/account/sessions/revoke-others', requireUser, security.revokeOthers);
  r.post('/account/sessions/:id/revoke', requireUser, security.revoke);
  // The W3C well-known URL password managers open to change a password.
  r.get('/.well-known/change-password', (_req, res) => res.redirect(302, '/account'));
  r.get('/forgot-password', sameForAnonymous, page.showForgot);
  r.post('/forgot-password', limit.forgot, page.forgot);
  r.get('/reset-password', noStore, links.reset.fromAddressBar, page.showReset);
  r.post('/reset-password', limit.reset, noStore, page.reset);

  // JSON routes: each with its documentation (src/web/api-docs/entries.ts), served at /api/openapi.json.
  const jr = jsonRoutes(r);
  jr.post('/api/users', API.register, limit.register, noStore, json.register);
  jr.post('/api/users/confirm', API.confirmSignup, limit.signupConfirm, noStore, json.confirmSignup);
  jr.post('/api/auth/login', API.login, limit.login, noStore, json.login);
  jr.post('/api/auth/second-step', API.secondStep, limit.twoStep, noStore, twoStep.secondStepJson);
  jr.post('/api/auth/email-link', API.emailLink, limit.emailLink, emailLink.requestJson);
  jr.post('/api/auth/email-link/confirm', API.confirmEmailLink, limit.emailLinkConfirm, noStore, emailLink.confirmJson);
  jr.post('/api/auth/logout', API.logout, json.logout);
  jr.get('/api/users/me', API.me, requireUser, json.me);
  jr.patch('/api/users/me/password', API.changePassword, requireUser, limit.login, withCodeJson, json.changePassword);
  jr.post('/api/users/me/email', API.changeEmail, limit.account, requireUser, withCodeJson, changes.changeEmailJson);
  jr.post('/api/users/me/email/confirm', API.confirmEmail, limit.emailConfirm, requireUser, changes.confirmEmailJson);
  jr.delete('/api/users/me', API.deleteAccount, limit.account, requireUser, withCodeJson, changes.deleteAccountJson);
  jr.post('/api/auth/confirm', API.confirm, limit.account, requireUser, noStore, twoStepJson.confirm);
  jr.post('/api/users/me/two-step', API.setUpTwoStep, limit.account, requireUser, noStore, twoStepJson.setUp);
  jr.post('/api/users/me/two-step/confirm', API.turnOnTwoStep, limit.twoStep, requireUser, noStore, twoStepJson.turnOn);
  jr.delete('/api/users/me/two-step', API.turnOffTwoStep, limit.account, requireUser, twoStepJson.turnOff);
  jr.post('/api/users/me/recovery-codes', API.newRecoveryCodes, limit.account, requireUser, noStore, twoStepJson.newRecoveryCodes);
  jr.get('/api/users/me/sessions', API.sessions, requireUser, security.listSessionsJson);
  jr.delete('/api/users/me/sessions/:id', API.endSession, requireUser, security.deleteSessionJson);
  jr.get('/api/users/me/events', API.events, requireUser, security.listEventsJson);
  jr.post('/api/users/forgot-password', API.forgot, limit.forgot, json.forgot);
  jr.post('/api/users/reset-password', API.reset, limit.reset, noStore, json.reset);
  jr.get('/api/openapi.json', API.openapi, (_req, res) => void res.json(jr.document()));
  r.get('/docs/api', sameForAnonymous, (req, res) => showApiReference(req, res, jr.document()));

  // ── Passkeys (src/accounts/passkeys.ts). Options store a challenge for this session; adding and
  // removing need "confirm it's you" (checked in the handlers, inline or recent).
  const passkeys = passkeyApi({ accounts, log, resetLinks: links.reset });
  const passkeyPage = passkeyPages({ accounts, render: securityPage.render });
  jr.post('/api/auth/passkey/options', PASSKEY_API.signInOptions, limit.passkey, noStore, passkeys.signInOptions);
  jr.post('/api/auth/passkey', PASSKEY_API.signIn, limit.passkey, noStore, passkeys.signIn);
  // A two-step account's reset: the token in the body, or (the page's script) the link's cookie, whose
  // Path is /reset-password outside production, hence the page's own address for the same handler.
  jr.post('/api/users/reset-password/passkey/options', PASSKEY_API.resetOptions, limit.reset, noStore, passkeys.resetOptions);
  r.post('/reset-password/passkey/options', limit.reset, noStore, passkeys.resetOptions);
  jr.post('/api/auth/confirm/passkey/options', PASSKEY_API.confirmOptions, limit.passkey, requireUser, noStore, passkeys.confirmOptions);
  jr.post('/api/auth/confirm/passkey', PASSKEY_API.confirm, limit.passkey, requireUser, noStore, passkeys.confirm);
  jr.post('/api/users/me/passkeys/options', PASSKEY_API.registrationOptions, limit.account, requireUser, noStore, passkeys.registrationOptions);
  jr.post('/api/users/me/passkeys', PASSKEY_API.add, limit.passkey, requireUser, noStore, passkeys.add);
  jr.get('/api/users/me/passkeys', PASSKEY_API.list, requireUser, passkeys.list);
  jr.patch('/api/users/me/passkeys/:id', PASSKEY_API.rename, requireUser, passkeys.rename);
  jr.delete('/api/users/me/passkeys/:id', PASSKEY_API.remove, limit.account, requireUser, passkeys.remove);
  r.post('/account/security/passkeys/:id/remove', limit.account, requireUser, passkeyPage.remove);
  r.post('/account/security/passkeys/:id/name', requireUser, passkeyPage.rename);
  // ── end of passkeys

  // ── The blog (issue "blog"). Reading needs no login; writing needs a user, and changing a post
  // needs its author, which the domain decides. GET /, /posts/:id and /users/:username are also
  // answered from the anonymous page cache before the session middleware (app.ts).
  const post = postPages({ posts, cache: pageCache });
  const postJson = postsApi({ posts, absolute });
  r.get('/', post.feed);
  r.get('/posts/new', requireUser, post.showNew);
  r.post('/posts', requireUserReturningTo(() => '/posts/new'), post.publish);
  // Rendering costs CPU in proportion to the body: limited, so a writer's account is no render farm.
  r.post('/posts/preview', requireUserReturningTo(() => '/posts/new'), limit.preview, post.preview);
  r.get('/posts/:ref', post.showPost); // /posts/:id-:slug; any other slug (or none) is a 301 to it
  r.get('/posts/:id/edit', requireUser, post.showEdit);
  r.post('/posts/:id/edit', requireUserReturningTo((req) => req.originalUrl), post.edit);
  r.post('/posts/:id/delete', requireUserReturningTo((req) => `/posts/${encodeURIComponent(String(req.params.id))}`), post.remove);
  r.get('/users/:username', post.authorPage);
  const feeds = feedRoutes({ posts, cache: pageCache, absolute, siteName: 'Inkwell' });
  r.get('/feed.xml', feeds.siteFeed);
  r.get('/users/:username/feed.xml', feeds.authorFeed);
  r.get('/sitemap.xml', feeds.sitemap);
  r.get('/robots.txt', feeds.robots);
  r.get('/search', limit.search, searchPages({ posts }).search);

  // With `q` it searches: rate limited like the search page.
  jr.get('/api/posts', API.listPosts, (req, res, next) => (req.query.q === undefined ? next() : limit.search(req, res, next)), postJson.list);
  jr.get('/api/posts/:id', API.post, postJson.one);
  jr.post('/api/posts', API.publishPost, requireUser, postJson.publish);
  jr.patch('/api/posts/:id', API.editPost, requireUser, postJson.edit);
  jr.delete('/api/posts/:id', API.deletePost, requireUser, postJson.remove);
  // ── end of the blog

  // ── Profile pictures (issue 26): the only multipart routes, each reading the body itself with hard
  // limits (src/web/pictures/upload.ts) after the user and the per-account limit are checked.
  // Served at GET /media/<hash>.webp before the session middleware (app.ts).
  const picture = pictureChanges({ accounts, pictures, pageCache });
  const backToAccount = requireUserReturningTo(() => '/account');
  r.post('/account/picture', backToAccount, limit.picture, picture.receiveForPage, picture.upload);
  r.post('/account/picture/delete', backToAccount, limit.picture, picture.remove);
  jr.put('/api/users/me/picture', API.setPicture, requireUser, limit.picture, picture.receiveForApi, picture.uploadJson);
  jr.delete('/api/users/me/picture', API.removePicture, requireUser, limit.picture, picture.removeJson);

  if (mailbox) {
    const box = devMailbox(mailbox);
    r.get('/dev/mailbox', box.list);
    r.get('/dev/mailbox/:id', box.message);
  }
  return r;
}
