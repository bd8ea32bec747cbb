// Security activity for the handlers to note: written after the answer has gone out (AfterAnswer), so
// it never delays or fails the action it records, and a failed sign-in's lookup cannot shape the timing.
import type { Request, Response } from 'express';
import type { EventKind } from '../../accounts/activity.ts';
import type { Accounts } from '../../accounts/index.ts';
import type { AfterAnswer } from '../after-answer.ts';
import { clientOfRequest } from '../middleware.ts';

export function activityNotes(accounts: Accounts, later: AfterAnswer) {
  return {
    noteSignIn: (req: Request, res: Response, userId: number, how: { signUp?: boolean } = {}) =>
      later.run(res, 'security-event', () => accounts.noteSignIn(userId, clientOfRequest(req), how)),
    noteFailedSignIn: (req: Request, res: Response, email: string) =>
      later.run(res, 'security-event', () => accounts.noteFailedSignIn(email, clientOfRequest(req))),
    noteEvent: (req: Request, res: Response, userId: number, kind: EventKind) =>
      later.run(res, 'security-event', () => accounts.noteEvent(userId, kind, clientOfRequest(req))),
  };
}
