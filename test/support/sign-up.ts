// Signing up against a real Inkwell process, as a person does: the sign-up, then the emailed link.
import type { client } from './app-process.ts';
import { CONFIRM_SUBJECT, confirmationLinkIn, recipients, tokenOf, type Sink } from './smtp.ts';

type Client = ReturnType<typeof client>;

/** POST /api/users (202), then the token from the confirmation email that arrived; returns the confirm answer (201, logged in). */
export async function signUpThroughEmail(c: Client, sink: Sink, user: { username: string; email: string; password: string }) {
  const seen = sink.messages.length;
  const asked = await c.post('/api/users', user);
  if (asked.status !== 202) throw new Error(`sign-up answered ${asked.status}: ${JSON.stringify(asked.body)}`);
  const mail = await sink.waitFor(
    (m) => sink.messages.indexOf(m) >= seen && recipients(m).includes(user.email) && m.subject === CONFIRM_SUBJECT,
  );
  return c.post('/api/users/confirm', { token: tokenOf(confirmationLinkIn(mail)), password: user.password });
}
