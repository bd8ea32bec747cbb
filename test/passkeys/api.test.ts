// The passkey API without a browser: what the options say and hide, and what is refused before any
// signature is looked at (no live challenge, an expired one, no confirmation). The ceremonies themselves
// run in Chromium (browser.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasskeyChallenge, Session } from '../../src/db/entities.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';

/** A well-formed assertion that no authenticator made: it must be refused before anything is verified. */
const FAKE_ASSERTION = {
  id: 'AAAA', rawId: 'AAAA', type: 'public-key', clientExtensionResults: {},
  response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA', userHandle: 'AAAA' },
};

async function endConfirmation(h: Harness, userId: number): Promise<void> {
  const em = h.orm.em.fork();
  for (const row of await em.find(Session, { user: userId })) {
    await em.nativeUpdate(Session, { sidHash: row.sidHash }, { data: JSON.stringify({ ...JSON.parse(row.data), confirmedUntil: 0 }) });
  }
}

describe.each(dialects())('the passkey API on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h?.close());

  it('sign-in options are the same for everyone: no credential list, user verification required, rpID from APP_BASE_URL', async () => {
    const user = await registeredUser(h, `opts-${dialect}`);
    const anonymous = await h.request().post('/api/auth/passkey/options').expect(200);
    const signedIn = await user.agent.post('/api/auth/passkey/options').expect(200);
    for (const { body } of [anonymous, signedIn]) {
      expect(body).not.toHaveProperty('allowCredentials');
      expect(body).toMatchObject({ rpId: 'inkwell.test', userVerification: 'required', timeout: 300_000 });
    }
    expect(Object.keys(anonymous.body).sort()).toEqual(Object.keys(signedIn.body).sort());
    expect(anonymous.body.challenge).not.toBe(signedIn.body.challenge);
    // Only the challenge's SHA-256 is stored.
    const rows = await h.orm.em.fork().find(PasskeyChallenge, {});
    expect(rows.map((r) => r.challengeHash)).not.toContain(anonymous.body.challenge);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.challengeHash))).toBe(true);
  });

  it('an answer without a live challenge of this session is refused before anything is verified, and an expired one too', async () => {
    const agent = h.request();
    const none = await agent.post('/api/auth/passkey').send({ response: FAKE_ASSERTION }).expect(400);
    expect(none.body.error.code).toBe('passkey_challenge_expired');

    // Another session's challenge does not count for this one.
    await h.request().post('/api/auth/passkey/options').expect(200);
    expect((await agent.post('/api/auth/passkey').send({ response: FAKE_ASSERTION })).body.error.code).toBe('passkey_challenge_expired');

    // Five minutes old: gone.
    await agent.post('/api/auth/passkey/options').expect(200);
    await h.orm.em.fork().nativeUpdate(PasskeyChallenge, {}, { expiresAt: new Date(Date.now() - 1_000) });
    expect((await agent.post('/api/auth/passkey').send({ response: FAKE_ASSERTION })).body.error.code).toBe('passkey_challenge_expired');

    // A live one is used up by the first answer, right or wrong.
    await agent.post('/api/auth/passkey/options').expect(200);
    expect((await agent.post('/api/auth/passkey').send({ response: FAKE_ASSERTION })).body.error.code).toBe('unknown_passkey');
    expect((await agent.post('/api/auth/passkey').send({ response: FAKE_ASSERTION })).body.error.code).toBe('passkey_challenge_expired');
  });

  it('malformed answers are a 422 naming the field', async () => {
    const res = await h.request().post('/api/auth/passkey').send({ response: { ...FAKE_ASSERTION, id: 'not base64url!' } }).expect(422);
    expect(Object.keys(res.body.error.fields)).toEqual(['response']);
    await h.request().post('/api/auth/passkey').send({ response: 'a string' }).expect(422);
  });

  it('adding a passkey needs confirm it\'s you; its options are discoverable, user-verified, without attestation, with a random user handle', async () => {
    const user = await registeredUser(h, `add-${dialect}`);
    await endConfirmation(h, user.id);
    const refused = await user.agent.post('/api/users/me/passkeys/options').send({}).expect(401);
    expect(refused.body.error.code).toBe('confirmation_required');
    await user.agent.post('/api/users/me/passkeys/options').send({ current_password: 'not it at all' }).expect(422);

    const { body } = await user.agent.post('/api/users/me/passkeys/options').send({ current_password: user.password }).expect(200);
    expect(body).toMatchObject({
      rp: { id: 'inkwell.test', name: 'Inkwell' },
      attestation: 'none',
      excludeCredentials: [],
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      timeout: 300_000,
    });
    expect(body.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toEqual([-7, -8, -257]);
    const handle = Buffer.from(body.user.id, 'base64url');
    expect(handle).toHaveLength(32);
    // Not the id (32 random bytes contain a one-digit id's character one time in eight: compare whole values).
    expect(handle.equals(Buffer.from(String(user.id)))).toBe(false);
    expect(handle.readUIntBE(0, 6)).not.toBe(user.id);
    expect(handle.toString()).not.toContain(user.email);
    // The same handle every time (it names the account on every authenticator).
    const again = await user.agent.post('/api/users/me/passkeys/options').send({}).expect(200);
    expect(again.body.user.id).toBe(body.user.id);

    expect((await user.agent.get('/api/users/me/passkeys').expect(200)).body).toEqual({ passkeys: [] });
    await user.agent.delete('/api/users/me/passkeys/12345').send({}).expect(404);
    await h.request().get('/api/users/me/passkeys').expect(401);
  });
});
