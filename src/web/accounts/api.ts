// The JSON API for non-browser clients: the same domain calls as the pages, answered in JSON.
import type { Request, RequestHandler, Response } from 'express';
import type { Accounts, Profile, SignInStep } from '../../accounts/index.ts';
import type { AfterAnswer } from '../after-answer.ts';
import { ChangePasswordForm, ConfirmSignupForm, ForgotForm, LoginForm, RegisterForm, parse } from '../forms.ts';
import { clientGone, setRetryAfter, throttledMessage } from '../limits.ts';
import { clientOfRequest, continueSession, currentUser, logOutSession } from '../middleware.ts';
import { startSignIn } from '../security/sign-in.ts';
import { FORGOT_MESSAGE, PASSWORD_CHANGED_MEANWHILE } from './messages.ts';
import { invalidInput, jsonError } from '../respond.ts';
import { pictureUrl } from '../pictures/media.ts';
import { SIGNUP_MESSAGE, SIGNUP_PASSWORD_WRONG } from './signup-pages.ts';
import { resetProofOf } from '../security/forms.ts';
import { ResetBody } from '../security/passkey-forms.ts';


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
    const outcome = await accounts.confirmSignup(input.data.token, { password: input.data.password, username: input.data.username }, clientOfRequest(req));
    if (outcome.ok) {
      return answerSignIn(req, res, accounts, outcome.step, 201);
    }
    switch (outcome.reason) {
      case 'wrong_password':
        return invalidInput(res, { password: SIGNUP_PASSWORD_WRONG });
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
    await answerSignIn(req, res, accounts, outcome.step);
  };

  const logout: RequestHandler = async (req, res) => {
    await logOutSession(req, res);
    res.status(204).end();
  };

  const me: RequestHandler = async (_req, res) => {
    const user = currentUser(res)!;
    const twoStep = await accounts.twoStepStatus(user.id);
    res.json({ user: { ...publicProfile(user), two_step: twoStep.on, recovery_codes_left: twoStep.recoveryCodesLeft } });
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
    const input = parse(ResetBody, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const proof = resetProofOf(input.data, req.session.passkeyChallenges?.reset);
    const outcome = await accounts.resetPassword(input.data.token, input.data.new_password, proof, clientOfRequest(req));
    if (outcome.ok) {
      return res.json({ message: 'Your password has been reset. Log in with your new password.' });
    }
    switch (outcome.reason) {
      case 'invalid':
        return invalidInput(res, outcome.fields);
      case 'invalid_token':
        return jsonError(res, 400, 'invalid_token', 'This reset link is invalid or has expired. Ask for a new one.');
      // The link is still good: the client asks for the factor and sends it all again.
      case 'second_step_required':
        return jsonError(res, 401, 'second_step_required', 'This account has two-step verification: send `code`, `recovery_code` or `passkey` with the new password.');
      case 'passkey_challenge_expired':
        return jsonError(res, 400, 'passkey_challenge_expired', 'That passkey request expired or was already used. Ask for options again; the reset link still works.');
      case 'invalid_passkey':
        return jsonError(res, 401, 'invalid_passkey', 'That passkey could not be verified. The reset link still works.');
      case 'invalid_code':
        return jsonError(res, 401, 'invalid_code', 'That code is not right. The reset link still works.');
      case 'locked':
        setRetryAfter(res, outcome.retryAfterSeconds);
        return jsonError(res, 429, 'second_step_locked', throttledMessage(outcome.retryAfterSeconds));
    }
  };

  const changePassword: RequestHandler = async (req, res) => {
    const input = parse(ChangePasswordForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.changePassword(
      currentUser(res)!.id,
      { currentPassword: input.data.current_password, newPassword: input.data.new_password },
      clientGone(req, res),
      clientOfRequest(req),
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
    await continueSession(req, outcome.user);
    res.json({ message: 'Your password has been changed. Your other sessions have been ended.' });
  };

  return { register, confirmSignup, login, logout, me, forgot, reset, changePassword };
}

/**
 * The JSON answer to a sign-in, whatever its first factor: the user, or (two-step accounts) the second
 * step still to take, with no user yet: /api/users/me stays 401 until POST /api/auth/second-step.
 */
export async function answerSignIn(req: Request, res: Response, accounts: Accounts, step: SignInStep, status = 200): Promise<void> {
  const started = await startSignIn(req, step);
  if (!started.signedIn) return void res.status(status).json({ second_step: { methods: started.methods } });
  res.status(status).json({ user: publicProfile((await accounts.findUser(started.userId))!) });
}

/** A `user` as every JSON answer shows it. */
export function publicProfile({ id, username, email, createdAt, pictureHash }: Profile) {
  return { id, username, email, created_at: createdAt.toISOString(), picture_url: pictureUrl(pictureHash) };
}
