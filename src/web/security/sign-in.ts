// Where every sign-in handler hands the pipeline's answer (src/accounts/sign-in.ts): a fresh signed-in
// session, or a pending one that must pass /login/two-step first. Password, sign-up link, sign-in
// links and passkeys all call `startSignIn`; nothing else opens a signed-in session.
import type { Request, Response } from 'express';
import type { Accounts, SignedIn, SignInStep } from '../../accounts/index.ts';
import type { AfterAnswer } from '../after-answer.ts';
import { activityNotes } from '../accounts/activity-notes.ts';
import { logInSession, pendingSession } from '../middleware.ts';

export type Started = { signedIn: true; userId: number } | { signedIn: false; methods: string[] };

export function signInSessions(accounts: Accounts, later: AfterAnswer) {
  const { noteSignIn } = activityNotes(accounts, later);

  /** Opens the session the step calls for. Pages then go on (or to /login/two-step); JSON says which. */
  async function startSignIn(req: Request, res: Response, step: SignInStep): Promise<Started> {
    if (step.secondStep) {
      await pendingSession(req, step.secondStep.pendingId);
      return { signedIn: false, methods: step.secondStep.methods };
    }
    await finishSignIn(req, res, step.signedIn);
    return { signedIn: true, userId: step.signedIn.user.id };
  }

  /** A completed sign-in (first factor alone, or after its second step): a new session id, noted. */
  async function finishSignIn(req: Request, res: Response, signedIn: SignedIn): Promise<void> {
    await logInSession(req, signedIn);
    // The sign-up's own first sign-in is the baseline new devices are compared with: it warns of none.
    noteSignIn(req, res, signedIn.user.id, { signUp: signedIn.methods[0] === 'signup_link' });
  }

  return { startSignIn, finishSignIn };
}

export type SignInSessions = ReturnType<typeof signInSessions>;
