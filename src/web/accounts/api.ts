// The JSON API for non-browser clients: the same domain calls as the pages, answered in JSON.
import type { RequestHandler } from 'express';
import type { Accounts, Profile } from '../../accounts/index.ts';
import type { AfterAnswer } from '../after-answer.ts';
import { ChangePasswordForm, ConfirmSignupForm, ForgotForm, LoginForm, RegisterForm, ResetForm, parse } from '../forms.ts';
import { clientGone, setRetryAfter, throttledMessage } from '../limits.ts';
import { clientOfRequest, currentUser, logInSession, logOutSession } from '../middleware.ts';
import { FORGOT_MESSAGE, PASSWORD_CHANGED_MEANWHILE } from './messages.ts';
import { invalidInput, jsonError } from '../respond.ts';
import { SIGNUP_MESSAGE } from './signup-pages.ts';


// Serialised once: every email gets exactly these bytes.
const FORGOT_BODY = JSON.stringify({ message: FORGOT_MESSAGE });
const SIGNUP_BODY = JSON.stringify({ message: SIGNUP_MESSAGE });

export function api(deps: { accounts: Accounts; later: AfterAnswer }) {
  const { accounts, later } = deps;

  const register: RequestHandler = async (req, res) => {
    const input = parse(RegisterForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const recorded = await accounts.recordSignup(input.data);
    if (!recorded.ok) return invalidInput(res, recorded.fields);
    // As the page: recorded before the answer, the address looked at after it.
    later.wakeJobs(res);
    res.status(202).type('application/json').send(SIGNUP_BODY);
  };

  const confirmSignup: RequestHandler = async (req, res) => {
    const input = parse(ConfirmSignupForm.required({ token: true }), req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.confirmSignup(input.data.token, { username: input.data.username }, clientOfRequest(req));
    if (outcome.ok) {
      await logInSession(req, outcome.user);
      return res.status(201).json({ user: publicProfile((await accounts.findUser(outcome.user.id))!) });
    }
    switch (outcome.reason) {
      case 'username_taken':
        return invalidInput(res, { username: `The username ${outcome.username} was taken before you confirmed. Choose another.` });
      case 'email_taken':
        return jsonError(res, 409, 'email_taken', 'This email address already has an account. Log in, or reset its password.');
      case 'invalid_token':
        return jsonError(res, 400, 'invalid_token', 'This confirmation link is invalid or has expired. Sign up again.');
    }
  };

  const login: RequestHandler = async (req, res) => {
    const input = parse(LoginForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.logIn({ ...input.data, client: clientOfRequest(req) }, clientGone(req, res));
    if (!outcome.ok) {
      switch (outcome.reason) {
        case 'throttled':
          setRetryAfter(res, outcome.retryAfterSeconds);
          return jsonError(res, 429, 'login_throttled', throttledMessage(outcome.retryAfterSeconds));
        case 'invalid_credentials':
          later.wakeJobs(res);
          return jsonError(res, 401, 'invalid_credentials', 'The email or password is not correct.');
      }
    }
    await logInSession(req, outcome.user);
    res.json({ user: publicProfile((await accounts.findUser(outcome.user.id))!) });
  };

  const logout: RequestHandler = async (req, res) => {
    await logOutSession(req, res);
    res.status(204).end();
  };

  const me: RequestHandler = (_req, res) => {
    res.json({ user: publicProfile(currentUser(res)!) });
  };

  const forgot: RequestHandler = async (req, res) => {
    const input = parse(ForgotForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    // As the page: recorded before the answer, worked on after it.
    await accounts.recordResetRequest(input.data.email, clientOfRequest(req));
    later.wakeJobs(res);
    res.status(202).type('application/json').send(FORGOT_BODY);
  };

  const reset: RequestHandler = async (req, res) => {
    const input = parse(ResetForm.required({ token: true }), req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.resetPassword(input.data.token, input.data.new_password, clientOfRequest(req));
    if (outcome.ok) {
      return res.json({ message: 'Your password has been reset. Log in with your new password.' });
    }
    switch (outcome.reason) {
      case 'invalid':
        return invalidInput(res, outcome.fields);
      case 'invalid_token':
        return jsonError(res, 400, 'invalid_token', 'This reset link is invalid or has expired. Ask for a new one.');
    }
  };

  const changePassword: RequestHandler = async (req, res) => {
    const input = parse(ChangePasswordForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.changePassword(
      currentUser(res)!.id,
      { currentPassword: input.data.current_password, newPassword: input.data.new_password, client: clientOfRequest(req) },
      clientGone(req, res),
    );
    if (!outcome.ok) {
      switch (outcome.reason) {
        case 'throttled':
          setRetryAfter(res, outcome.retryAfterSeconds);
          return jsonError(res, 429, 'login_throttled', throttledMessage(outcome.retryAfterSeconds));
        case 'changed_meanwhile':
          await logOutSession(req, res);
          return jsonError(res, 409, 'password_changed_meanwhile', PASSWORD_CHANGED_MEANWHILE);
        case 'wrong_password':
        case 'invalid':
          return invalidInput(res, outcome.fields);
      }
    }
    await logInSession(req, outcome.user);
    res.json({ message: 'Your password has been changed. Your other sessions have been ended.' });
  };

  return { register, confirmSignup, login, logout, me, forgot, reset, changePassword };
}

function publicProfile({ id, username, email, createdAt }: Profile) {
  return { id, username, email, created_at: createdAt.toISOString() };
}
