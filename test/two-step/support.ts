// Two-step helpers for tests: codes computed from the key the API showed, as an authenticator app does.
import { TOTP, Secret } from 'otpauth';
import type supertest from 'supertest';

/** The code an app shows at `at` (+ `steps` periods): a later step lets a test sign in twice without waiting. */
export function codeFor(secret: string, steps = 0, at = Date.now()): string {
  return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: at + steps * 30_000 });
}

/** Turns two-step on through the API for a signed-in agent; returns the secret and the recovery codes. */
export async function turnOnTwoStep(agent: supertest.Agent, password: string) {
  const setup = await agent.post('/api/users/me/two-step').send({ current_password: password });
  if (setup.status !== 200) throw new Error(`setup failed: ${setup.status} ${JSON.stringify(setup.body)}`);
  const secret = setup.body.secret as string;
  const on = await agent.post('/api/users/me/two-step/confirm').send({ code: codeFor(secret) });
  if (on.status !== 200) throw new Error(`turning on failed: ${on.status} ${JSON.stringify(on.body)}`);
  return { secret, recoveryCodes: on.body.recovery_codes as string[] };
}
