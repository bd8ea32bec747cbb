// The browser pages: each handler parses the form, makes one domain call, and picks a template.
import type { RequestHandler } from 'express';
import type { Accounts } from '../accounts/index.ts';
import type { JobRunner } from '../jobs/runner.ts';
import { ChangePasswordForm, ForgotForm, LoginForm, ResetForm, localPath, parse } from './forms.ts';
import { currentUser, logInSession, regenerateSession } from './middleware.ts';
import { redirect, show } from './respond.ts';
import type { ResetLinks } from './reset-links.ts';

export const FORGOT_MESSAGE =
  'If an account uses that email address, we have sent it a link to choose a new password. Check your inbox.';

const NOTICES: Record<string, string> = {
  password_reset: 'Your password has been reset. Log in with your new password.',
};

export function pages(deps: { accounts: Accounts; jobs: JobRunner; resetLinks: ResetLinks }) {
  const { accounts, jobs, resetLinks } = deps;

  const home: RequestHandler = (_req, res) => res.render('pages/home.njk', { title: 'Inkwell' });

  const loginView = { page: 'login', fragment: 'login-form', title: 'Log in' };
  const showLogin: RequestHandler = (req, res) => {
    if (currentUser(res)) return res.redirect(303, '/account');
    const notice = NOTICES[String(req.query.notice)];
    show(req, res, loginView, { notice, values: { next: localPath(stringOrUndefined(req.query.next)) } });
  };
  const login: RequestHandler = async (req, res) => {
    const input = parse(LoginForm, req.body);
    if (!input.ok) return show(req, res, { ...loginView, status: 422 }, { errors: input.fields, values: req.body });
    const outcome = await accounts.logIn(input.data);
    if (!outcome.ok) {
      const values = { email: input.data.email, next: input.data.next };
      return show(req, res, { ...loginView, status: 401 }, { failed: true, values });
    }
    await logInSession(req, outcome.user);
    redirect(req, res, localPath(input.data.next) ?? '/account');
  };

  const logout: RequestHandler = async (req, res) => {
    await regenerateSession(req);
    redirect(req, res, '/');
  };

  const accountView = { page: 'account', fragment: 'password-form', title: 'Your account' };
  const account: RequestHandler = (req, res) => show(req, res, accountView);
  const changePassword: RequestHandler = async (req, res) => {
    const user = currentUser(res)!;
    const input = parse(ChangePasswordForm, req.body);
    if (!input.ok) return show(req, res, { ...accountView, status: 422 }, { errors: input.fields });
    const outcome = await accounts.changePassword(user.id, {
      currentPassword: input.data.current_password,
      newPassword: input.data.new_password,
    });
    if (!outcome.ok) return show(req, res, { ...accountView, status: 422 }, { errors: outcome.fields });
    // Every session ended with the change; this browser continues under a fresh id.
    await logInSession(req, outcome.user);
    show(req, res, accountView, { changed: true });
  };

  const forgotView = { page: 'forgot-password', fragment: 'forgot-form', title: 'Forgot your password?' };
  const showForgot: RequestHandler = (req, res) => show(req, res, forgotView);
  const forgot: RequestHandler = async (req, res) => {
    const input = parse(ForgotForm, req.body);
    if (!input.ok) return show(req, res, { ...forgotView, status: 422 }, { errors: input.fields, values: req.body });
    // Recorded before the 202 (a crash after it loses nothing); the account is looked up only once the
    // answer is out, so nothing about the account can shape it.
    await accounts.recordResetRequest(input.data.email);
    res.once('finish', () => jobs.wake());
    show(req, res, { ...forgotView, status: 202 }, { sent: FORGOT_MESSAGE });
  };

  const resetView = { page: 'reset-password', fragment: 'reset-form', title: 'Choose a new password' };
  const invalidLinkView = { page: 'reset-invalid', fragment: 'reset-invalid', title: 'This link does not work', status: 400 };
  const showReset: RequestHandler = async (req, res) => {
    res.set('Cache-Control', 'no-store');
    if (req.query.token !== undefined) {
      // Out of the address bar (and history, and any Referer) before anything is shown.
      resetLinks.remember(res, req.query.token);
      return res.redirect(303, '/reset-password');
    }
    if (!(await accounts.checkResetToken(resetLinks.recall(req)))) {
      resetLinks.forget(res);
      return show(req, res, invalidLinkView);
    }
    show(req, res, resetView);
  };
  const reset: RequestHandler = async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const input = parse(ResetForm, req.body);
    if (!input.ok) return show(req, res, { ...resetView, status: 422 }, { errors: input.fields });
    const outcome = await accounts.resetPassword(input.data.token ?? resetLinks.recall(req), input.data.new_password);
    if (!outcome.ok && outcome.reason === 'invalid') {
      return show(req, res, { ...resetView, status: 422 }, { errors: outcome.fields });
    }
    resetLinks.forget(res);
    if (!outcome.ok) return show(req, res, invalidLinkView);
    // No automatic login: whoever holds a leaked link still has to know the new password.
    redirect(req, res, '/login?notice=password_reset');
  };

  return { home, showLogin, login, logout, account, changePassword, showForgot, forgot, showReset, reset };
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
