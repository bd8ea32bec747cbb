// Sessions and activity: where the account is signed in, signing other devices out, what happened.
import type { Request, RequestHandler, Response } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import { clientOfRequest, currentUser } from '../middleware.ts';
import { jsonError, redirect, show, showError, wantsFragment } from '../respond.ts';

export function accountSecurity({ accounts }: { accounts: Accounts }) {
  /** The signed-in user and the public id of the session asking. */
  const asker = (req: Request, res: Response) => ({ userId: currentUser(res)!.id, sessionId: req.session.publicId });

  /** htmx gets the refreshed list in place; a plain form goes back to the account page. */
  async function showSessions(req: Request, res: Response, notice: string): Promise<void> {
    if (!wantsFragment(req)) return redirect(req, res, '/account');
    const { userId, sessionId } = asker(req, res);
    const sessions = await accounts.listSessions(userId, sessionId);
    show(req, res, { page: 'account', fragment: 'sessions' }, { sessions, sessionsNotice: notice });
  }

  const revoke: RequestHandler = async (req, res) => {
    const { userId } = asker(req, res);
    if (!(await accounts.endSession(userId, String(req.params.id), clientOfRequest(req)))) {
      return showError(req, res, 404, 'not_found', 'There is no such session.');
    }
    await showSessions(req, res, 'That session has been signed out.');
  };

  const revokeOthers: RequestHandler = async (req, res) => {
    const { userId, sessionId } = asker(req, res);
    await accounts.endOtherSessions(userId, sessionId ?? '', clientOfRequest(req));
    await showSessions(req, res, 'Every other session has been signed out.');
  };

  const listSessionsJson: RequestHandler = async (req, res) => {
    const { userId, sessionId } = asker(req, res);
    const sessions = await accounts.listSessions(userId, sessionId);
    res.json({
      sessions: sessions.map((s) => ({
        id: s.id,
        current: s.current,
        device: s.device,
        ip: s.ip,
        created_at: s.createdAt.toISOString(),
        last_seen_at: s.lastSeenAt.toISOString(),
      })),
    });
  };

  const deleteSessionJson: RequestHandler = async (req, res) => {
    const { userId } = asker(req, res);
    if (!(await accounts.endSession(userId, String(req.params.id), clientOfRequest(req)))) {
      return jsonError(res, 404, 'not_found', 'There is no such session.');
    }
    res.status(204).end();
  };

  const listEventsJson: RequestHandler = async (_req, res) => {
    const events = await accounts.listActivity(currentUser(res)!.id);
    res.json({
      events: events.map((e) => ({ kind: e.kind, at: e.at.toISOString(), device: e.device, ip: e.ip, count: e.count })),
    });
  };

  return { revoke, revokeOthers, listSessionsJson, deleteSessionJson, listEventsJson };
}
