// The account page's changes beyond the password: a new email address (confirmed from the new inbox),
// "This wasn't me" (from a notice, no login needed), and deleting the account. Pages and JSON alike.
import type { Request, RequestHandler, Response } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import { ACCOUNT_VIEW, showAccount } from './view.ts';
import { ChangeEmailForm, DeleteAccountForm, TokenForm, parse, type FieldErrors } from '../forms.ts';
import { clientOfRequest, currentUser, logOutSession } from '../middleware.ts';
import { invalidInput, jsonError, redirect, show } from '../respond.ts';
import type { PageCache } from '../page-cache.ts';
import type { LinkCookies } from '../token-links.ts';
import { setRetryAfter, throttledMessage } from '../limits.ts';

const EMAIL_CHANGE_MESSAGE =
  'Check the inbox of the new address: your email changes once you open the link we sent there.';
// Serialised once: every address gets exactly these bytes, taken or not.
const EMAIL_CHANGE_BODY = JSON.stringify({ message: EMAIL_CHANGE_MESSAGE });

const WRONG_PASSWORD = 'Your current password is not correct.';
const emailView = { ...ACCOUNT_VIEW, fragment: 'email-form' };
const deleteView = { ...ACCOUNT_VIEW, fragment: 'delete-form' };
const invalidLink = (req: Request, res: Response, message_text: string, action?: { href: string; label: string }, status = 400) =>
  show(req, res, { page: 'link-invalid', status, title: 'This link does not work' }, { message_text, action });

export function accountChanges({ accounts, links, pageCache }: {
  accounts: Accounts;
  /** The cookies the emailed links' tokens wait in (the route table moves them there first). */
  links: Pick<LinkCookies, 'emailChange' | 'secure'>;
  /** Emptied when an account goes: its posts went with it. */
  pageCache: PageCache;
}) {
  const { emailChange: emailLinks, secure: secureLinks } = links;

  const changeEmail: RequestHandler = async (req, res) => {
    const input = parse(ChangeEmailForm, req.body);
    if (!input.ok) return showAccount(req, res, accounts, { ...emailView, status: 422 }, { emailErrors: input.fields, values: req.body });
    const outcome = await accounts.requestEmailChange(
      currentUser(res)!.id,
      { newEmail: input.data.new_email, currentPassword: input.data.current_password },
      clientOfRequest(req),
    );
    if (!outcome.ok) {
      const status = refusedPassword(res, outcome);
      return showAccount(req, res, accounts, { ...emailView, status }, { emailErrors: passwordErrors(outcome), values: { new_email: input.data.new_email } });
    }
    await showAccount(req, res, accounts, { ...emailView, status: 202 }, { emailSent: EMAIL_CHANGE_MESSAGE });
  };

  const showConfirmEmail: RequestHandler = async (req, res) => {
    const newEmail = await accounts.pendingEmailChange(currentUser(res)!.id, emailLinks.recall(req));
    if (!newEmail) {
      emailLinks.forget(res);
      return invalidLink(req, res, 'This confirmation link is invalid, has expired, or belongs to another account. Log in as the account that asked, or ask again from your account page.', { href: '/account', label: 'Go to your account' });
    }
    show(req, res, { page: 'email-confirm', title: 'Confirm your new email address' }, { newEmail });
  };

  const confirmEmail: RequestHandler = async (req, res) => {
    const input = parse(TokenForm, req.body);
    const token = (input.ok && input.data.token) || emailLinks.recall(req);
    const outcome = await accounts.confirmEmailChange(currentUser(res)!.id, token, clientOfRequest(req));
    emailLinks.forget(res);
    if (outcome.ok) return redirect(req, res, '/account?notice=email_changed');
    switch (outcome.reason) {
      case 'invalid_token':
        return invalidLink(req, res, 'This confirmation link is invalid or has expired. Ask again from your account page.', { href: '/account', label: 'Go to your account' });
      case 'address_taken':
        return invalidLink(req, res, 'That address now belongs to another account, so your address was not changed.', { href: '/account', label: 'Go to your account' }, 409);
    }
  };

  const showSecure: RequestHandler = async (req, res) => {
    if (!(await accounts.checkSecureToken(secureLinks.recall(req)))) {
      secureLinks.forget(res);
      return invalidLink(req, res, 'This link is invalid, has expired, or was already used. If your account is still at risk, choose a new password.', { href: '/forgot-password', label: 'Choose a new password' });
    }
    show(req, res, { page: 'secure', title: "This wasn't me" });
  };

  const secureAccount: RequestHandler = async (req, res) => {
    const input = parse(TokenForm, req.body);
    const token = (input.ok && input.data.token) || secureLinks.recall(req);
    const outcome = await accounts.secureAccount(token, clientOfRequest(req));
    secureLinks.forget(res);
    if (!outcome.ok) {
      return invalidLink(req, res, 'This link is invalid, has expired, or was already used. If your account is still at risk, choose a new password.', { href: '/forgot-password', label: 'Choose a new password' });
    }
    // Every session ended, this browser's too; nobody is logged in by a link.
    redirect(req, res, '/login?notice=account_secured');
  };

  const deleteAccount: RequestHandler = async (req, res) => {
    const input = parse(DeleteAccountForm, req.body);
    if (!input.ok) return showAccount(req, res, accounts, { ...deleteView, status: 422 }, { deleteErrors: input.fields });
    const outcome = await accounts.deleteAccount(currentUser(res)!.id, input.data.current_password, clientOfRequest(req));
    if (!outcome.ok && outcome.reason === 'address_recently_changed') {
      return showAccount(req, res, accounts, { ...deleteView, status: 409 }, { deleteHeld: deletionHeld(outcome.until) });
    }
    if (!outcome.ok) return showAccount(req, res, accounts, { ...deleteView, status: refusedPassword(res, outcome) }, { deleteErrors: passwordErrors(outcome) });
    pageCache.clear();
    await logOutSession(req, res);
    redirect(req, res, '/');
  };

  const changeEmailJson: RequestHandler = async (req, res) => {
    const input = parse(ChangeEmailForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.requestEmailChange(
      currentUser(res)!.id,
      { newEmail: input.data.new_email, currentPassword: input.data.current_password },
      clientOfRequest(req),
    );
    if (!outcome.ok) return refuseJson(res, outcome);
    res.status(202).type('application/json').send(EMAIL_CHANGE_BODY);
  };

  const confirmEmailJson: RequestHandler = async (req, res) => {
    const input = parse(TokenForm.required({ token: true }), req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.confirmEmailChange(currentUser(res)!.id, input.data.token, clientOfRequest(req));
    if (outcome.ok) return res.json({ message: 'Your email address has been changed.' });
    switch (outcome.reason) {
      case 'invalid_token':
        return jsonError(res, 400, 'invalid_token', 'This confirmation link is invalid or has expired.');
      case 'address_taken':
        return jsonError(res, 409, 'address_taken', 'That address now belongs to another account.');
    }
  };

  const deleteAccountJson: RequestHandler = async (req, res) => {
    const input = parse(DeleteAccountForm, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await accounts.deleteAccount(currentUser(res)!.id, input.data.current_password, clientOfRequest(req));
    if (!outcome.ok && outcome.reason === 'address_recently_changed') {
      return jsonError(res, 409, 'address_recently_changed', deletionHeld(outcome.until));
    }
    if (!outcome.ok) return refuseJson(res, outcome);
    pageCache.clear();
    await logOutSession(req, res);
    res.status(204).end();
  };

  return {
    changeEmail, showConfirmEmail, confirmEmail, showSecure, secureAccount, deleteAccount,
    changeEmailJson, confirmEmailJson, deleteAccountJson,
  };
}

type PasswordRefusal = { reason: 'wrong_password' } | { reason: 'throttled'; retryAfterSeconds: number };

/** The status of a refused current password (429 with Retry-After once the email's login throttle is on). */
function refusedPassword(res: Response, refusal: PasswordRefusal): number {
  if (refusal.reason === 'wrong_password') return 422;
  setRetryAfter(res, refusal.retryAfterSeconds);
  return 429;
}

function passwordErrors(refusal: PasswordRefusal): FieldErrors {
  switch (refusal.reason) {
    case 'wrong_password':
      return { current_password: WRONG_PASSWORD };
    case 'throttled':
      return { current_password: throttledMessage(refusal.retryAfterSeconds) };
  }
}

function refuseJson(res: Response, refusal: PasswordRefusal) {
  switch (refusal.reason) {
    case 'wrong_password':
      return invalidInput(res, { current_password: WRONG_PASSWORD });
    case 'throttled':
      setRetryAfter(res, refusal.retryAfterSeconds);
      return jsonError(res, 429, 'login_throttled', throttledMessage(refusal.retryAfterSeconds));
  }
}

function deletionHeld(until: Date): string {
  return `Your email address was changed recently, and whoever had the old address can still undo that until ${until.toUTCString()}. ` +
    'The account can be deleted after that.';
}
