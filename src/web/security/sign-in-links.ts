// "Email me a sign-in link": the request (one answer for every address, recorded before it), and the
// emailed link's page, whose GET only asks (mail scanners open links) and whose button signs in
// through the one pipeline: signed in, or /login/two-step for a two-step account.
import type { RequestHandler } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import type { AfterAnswer } from '../after-answer.ts';
import { answerSignIn } from '../accounts/api.ts';
import { EMAIL_LINK_MESSAGE } from '../accounts/messages.ts';
import { EmailLinkForm, EmailLinkPageForm, SignInLinkForm, localPath, parse } from '../forms.ts';
import { clientOfRequest } from '../middleware.ts';
import { invalidInput, jsonError, redirect, show } from '../respond.ts';
import type { TokenLinks } from '../token-links.ts';
import { pageAfterSignIn } from './sign-in.ts';

// Serialised once: every address gets exactly these bytes.
const EMAIL_LINK_BODY = JSON.stringify({ message: EMAIL_LINK_MESSAGE });
const INVALID = 'This sign-in link is invalid, has expired, or was already used. Links work once, for 10 minutes, and only the newest one works.';

export function signInLinkPages({ accounts, later, signInLinks }: { accounts: Accounts; later: AfterAnswer; signInLinks: TokenLinks }) {
  const requestView = { page: 'login-email', fragment: 'email-link-form', title: 'Email me a sign-in link' };
  const showRequest: RequestHandler = (req, res) => {
    show(req, res, requestView, { values: { next: localPath(typeof req.query.next === 'string' ? req.query.next : undefined) } });
  };
  const request: RequestHandler = async (req, res) => {
    const input = parse(EmailLinkPageForm, req.body);
    if (!input.ok) return show(req, res, { ...requestView, status: 422 }, { errors: input.fields, values: req.body });
    // As forgot-password: recorded (durably) before the 202, the address looked at only by its job, a
    // few seconds later at a random moment (src/accounts/requests.ts).
    await accounts.recordSignInLinkRequest(input.data.email, localPath(input.data.next) ?? null, clientOfRequest(req));
    later.wakeJobs(res);
    show(req, res, { ...requestView, status: 202 }, { sent: EMAIL_LINK_MESSAGE });
  };
  const requestJson: RequestHandler = async (req, res) => {
    const input = parse(EmailLinkForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    await accounts.recordSignInLinkRequest(input.data.email, null, clientOfRequest(req));
    later.wakeJobs(res);
    res.status(202).type('application/json').send(EMAIL_LINK_BODY);
  };

  const confirmView = { page: 'login-email-confirm', title: 'Sign in' };
  const invalidView = { page: 'link-invalid', status: 400, title: 'This link does not work' };
  const invalidContext = { message_text: INVALID, action: { href: '/login/email', label: 'Email me a new link' } };
  const showConfirm: RequestHandler = async (req, res) => {
    const owner = await accounts.signInLinkOwner(signInLinks.recall(req));
    if (!owner) {
      signInLinks.forget(res);
      return show(req, res, invalidView, invalidContext);
    }
    show(req, res, confirmView, { email: owner.email, next: localPath(typeof req.query.next === 'string' ? req.query.next : undefined) });
  };
  const confirm: RequestHandler = async (req, res) => {
    const input = parse(SignInLinkForm, req.body);
    const outcome = await accounts.signInWithLink((input.ok && input.data.token) || signInLinks.recall(req), clientOfRequest(req));
    signInLinks.forget(res);
    if (!outcome.ok) return show(req, res, invalidView, invalidContext);
    const next = input.ok ? localPath(input.data.next) : undefined;
    redirect(req, res, await pageAfterSignIn(req, outcome.step, next));
  };
  const confirmJson: RequestHandler = async (req, res) => {
    const input = parse(SignInLinkForm.pick({ token: true }).required(), req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.signInWithLink(input.data.token, clientOfRequest(req));
    if (!outcome.ok) return jsonError(res, 400, 'invalid_token', INVALID);
    await answerSignIn(req, res, accounts, outcome.step);
  };

  return { showRequest, request, requestJson, showConfirm, confirm, confirmJson };
}
