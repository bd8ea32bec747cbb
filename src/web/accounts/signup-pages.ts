// The sign-up pages: one answer for every address, then the emailed link that creates the account.
import type { RequestHandler } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import { ConfirmSignupForm, RegisterForm, parse } from '../forms.ts';
import { pageAfterSignIn } from '../security/sign-in.ts';
import { clientOfRequest } from '../middleware.ts';
import { redirect, show } from '../respond.ts';
import type { TokenLinks } from '../token-links.ts';
import type { AfterAnswer } from '../after-answer.ts';

export const SIGNUP_MESSAGE = 'Check your inbox to finish creating your account.';
export const SIGNUP_PASSWORD_WRONG = 'This is not the password chosen when signing up. If you did not sign up with this name, ignore the email and its link.';

export function signupPages(deps: { accounts: Accounts; later: AfterAnswer; confirmLinks: TokenLinks }) {
  const { accounts, later, confirmLinks } = deps;

  const registerView = { page: 'register', fragment: 'register-form', title: 'Create an account' };
  const showRegister: RequestHandler = (req, res) => show(req, res, registerView);
  const register: RequestHandler = async (req, res) => {
    const input = parse(RegisterForm, req.body);
    if (!input.ok) return show(req, res, { ...registerView, status: 422 }, { errors: input.fields, values: req.body });
    const recorded = await accounts.recordSignup(input.data);
    if (!recorded.ok) return show(req, res, { ...registerView, status: 422 }, { errors: recorded.fields, values: input.data });
    // Recorded (durably) before the answer; the job that looks at the address starts a few seconds
    // later at a random moment (src/accounts/requests.ts), so whether it has an account shapes no answer.
    later.wakeJobs(res);
    show(req, res, { ...registerView, status: 202 }, { sent: SIGNUP_MESSAGE });
  };

  const confirmView = { page: 'register-confirm', fragment: 'confirm-form', title: 'Create your account' };
  const invalidView = { page: 'register-confirm-invalid', fragment: 'confirm-invalid', title: 'This link does not work', status: 400 };
  const showConfirm: RequestHandler = async (req, res) => {
    // A GET never uses the link up: mail scanners follow links too. Only the button does.
    const pending = await accounts.pendingSignup(confirmLinks.recall(req));
    if (!pending) {
      confirmLinks.forget(res);
      return show(req, res, invalidView);
    }
    // The username tells the owner whose sign-up this link finishes (a stranger's, if not theirs).
    show(req, res, confirmView, { username: pending.username });
  };
  const confirm: RequestHandler = async (req, res) => {
    const input = parse(ConfirmSignupForm, req.body);
    if (!input.ok && input.fields.token) return show(req, res, invalidView);
    if (!input.ok) {
      // Asked again, with the name the link would create; a dead link gets the plain 400.
      const typed = typeof req.body?.token === 'string' ? req.body.token : undefined;
      const pending = await accounts.pendingSignup(typed ?? confirmLinks.recall(req));
      if (!pending) return show(req, res, invalidView);
      const pick = Boolean(input.fields.username);
      return show(req, res, { ...confirmView, status: 422 }, { errors: input.fields, pick, username: pending.username, values: { username: req.body?.username } });
    }
    const outcome = await accounts.confirmSignup(
      input.data.token ?? confirmLinks.recall(req), { password: input.data.password, username: input.data.username }, clientOfRequest(req),
    );
    if (outcome.ok) {
      confirmLinks.forget(res);
      // The first sign-in, through the one pipeline like every other, which records it (the device it
      // is recorded from is the one the account will be recognised by, so it warns of none).
      return redirect(req, res, await pageAfterSignIn(req, outcome.step, undefined));
    }
    switch (outcome.reason) {
      case 'wrong_password':
        // The link stays usable: for whoever did choose the password.
        return show(req, res, { ...confirmView, status: 422 }, {
          errors: { password: SIGNUP_PASSWORD_WRONG }, username: outcome.username, pick: input.data.username !== undefined, values: { username: input.data.username },
        });
      case 'username_taken':
        // The link still works: the same button, with a username field.
        return show(req, res, { ...confirmView, status: 422 }, {
          errors: { username: `The username ${outcome.username} was taken before you confirmed. Choose another.` },
          pick: true,
          username: outcome.username,
          values: { username: outcome.username },
        });
      case 'email_taken':
        confirmLinks.forget(res);
        return show(req, res, { ...invalidView, status: 409 }, { emailTaken: true });
      case 'invalid_token':
        confirmLinks.forget(res);
        return show(req, res, invalidView);
    }
  };

  return { showRegister, register, showConfirm, confirm };
}
