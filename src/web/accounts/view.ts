// The account page: the profile and its forms, with live sessions and recent activity.
import type { Request, Response } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import { currentUser } from '../middleware.ts';
import { recentlyConfirmed } from '../security/confirm.ts';
import { show, wantsFragment } from '../respond.ts';

export const ACCOUNT_VIEW = { page: 'account', fragment: 'password-form', title: 'Your account' };

export const ACCOUNT_NOTICES: Record<string, string> = {
  email_changed: 'Your email address has been changed. We have told your old address.',
  recovery_code_used: 'You signed in with a recovery code; it will not work again. Make new codes on the security page when you run low.',
};

/** A notice by its key; only our own keys (`__proto__` or `constructor` in a query string find nothing). */
export function lookUp(notices: Record<string, string>, key: unknown): string | undefined {
  return typeof key === 'string' && Object.hasOwn(notices, key) ? notices[key] : undefined;
}

/**
 * Renders the account page, or only the named fragment for htmx. It shows account data, so no cache
 * may keep it; the full page also lists sessions and recent activity.
 */
export async function showAccount(
  req: Request,
  res: Response,
  accounts: Accounts,
  view: { page: string; fragment?: string; title?: string; status?: number },
  context: object = {},
): Promise<void> {
  res.set('Cache-Control', 'no-store');
  const overview = wantsFragment(req) && view.fragment ? {} : await accounts.securityOverview(currentUser(res)!.id, req.session.publicId);
  // Forms that change the account ask a two-step account for a code too, unless it confirmed lately.
  const twoStep = await accounts.twoStepStatus(currentUser(res)!.id);
  show(req, res, view, { ...overview, twoStep, confirmed: recentlyConfirmed(req), ...context });
}
