// Where every sign-in handler hands the pipeline's answer (src/accounts/sign-in.ts): a fresh signed-in
// session, or a pending one that must pass /login/two-step first. Password, sign-up link, sign-in
// links and passkeys all call `startSignIn`; nothing else opens a signed-in session. The sign-in is
// already on record (the pipeline records it, and queues any new-device notice, in the transaction
// that completes it): nothing is left to do after the answer.
import type { Request } from 'express';
import type { SignedIn, SignInStep } from '../../accounts/index.ts';
import { logInSession, pendingSession } from '../middleware.ts';

export type Started = { signedIn: true; userId: number } | { signedIn: false; methods: string[] };

/** Opens the session the step calls for. Pages then go on (or to /login/two-step); JSON says which. */
export async function startSignIn(req: Request, step: SignInStep): Promise<Started> {
  if (step.secondStep) {
    await pendingSession(req, step.secondStep.pendingId);
    return { signedIn: false, methods: step.secondStep.methods };
  }
  await finishSignIn(req, step.signedIn);
  return { signedIn: true, userId: step.signedIn.user.id };
}

/** Where a page goes once a sign-in started: `next` (or /account), or the second step on the way there. */
export async function pageAfterSignIn(req: Request, step: SignInStep, next: string | undefined): Promise<string> {
  if ((await startSignIn(req, step)).signedIn) return next ?? '/account';
  return next ? `/login/two-step?next=${encodeURIComponent(next)}` : '/login/two-step';
}

/** A completed sign-in (first factor alone, or after its second step): a new session id. */
export async function finishSignIn(req: Request, signedIn: SignedIn): Promise<void> {
  await logInSession(req, signedIn);
}
