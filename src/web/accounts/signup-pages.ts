// The sign-up pages: one answer for every address, then the emailed link that creates the account.
import type { RequestHandler } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import { ConfirmSignupForm, RegisterForm, parse } from '../forms.ts';
import { clientOfRequest, logInSession } from '../middleware.ts';
import { redirect, show } from '../respond.ts';
import type { TokenLinks } from '../token-links.ts';
import type { AfterAnswer } from '../after-answer.ts';

export const SIGNUP_MESSAGE = 'Check your inbox to finish creating your account.';

export function signupPages(deps: { accounts: Accounts; later: AfterAnswer; confirmLinks: TokenLinks }) {
  const { accounts, later, confirmLinks } = deps;

  const registerView = { page: 'register', fragment: 'register-form', title: 'Create an account' };
  const showRegister: RequestHandler = (req, res) => show(req, res, registerView);
  const register: RequestHandler = async (req, res) => {
    const input = parse(RegisterForm, req.body);
    if (!input.ok) return show(req, res, { ...registerView, status: 422 }, { errors: input.fields, values: req.body });
    const recorded = await accounts.recordSignup(input.data);
    if (!recorded.ok) return show(req, res, { ...registerView, status: 422 }, { errors: recorded.fields, values: input.data });
    // Recorded (durably) before the answer; the job that looks at the address starts only once the
    // answer is out, so whether the address has an account cannot shape it.
    later.wakeJobs(res);
    show(req, res, { ...registerView, status: 202 }, { sent: SIGNUP_MESSAGE });
  };

  const confirmView = { page: 'register-confirm', fragment: 'confirm-form', title: 'Create your account' };
  const invalidView = { page: 'register-confirm-invalid', fragment: 'confirm-invalid', title: 'This link does not work', status: 400 };
  const showConfirm: RequestHandler = async (req, res) => {
    // A GET never uses the link up: mail scanners follow links too. Only the button does.
    if (!(await accounts.checkSignupToken(confirmLinks.recall(req)))) {
      confirmLinks.forget(res);
      return show(req, res, invalidView);
    }
    show(req, res, confirmView);
  };
  const confirm: RequestHandler = async (req, res) => {
    const input = parse(ConfirmSignupForm, req.body);
    if (!input.ok && input.fields.token) return show(req, res, invalidView);
    if (!input.ok) return show(req, res, { ...confirmView, status: 422 }, { errors: input.fields, pick: true, values: req.body });
    const outcome = await accounts.confirmSignup(
      input.data.token ?? confirmLinks.recall(req), { username: input.data.username }, clientOfRequest(req),
    );
    if (outcome.ok) {
      confirmLinks.forget(res);
      await logInSession(req, outcome.user);
      return redirect(req, res, '/account');
    }
    switch (outcome.reason) {
      case 'username_taken':
        // The link still works: the same button, with a username field.
        return show(req, res, { ...confirmView, status: 422 }, {
          errors: { username: `The username ${outcome.username} was taken before you confirmed. Choose another.` },
          pick: true,
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
