// Confirm it's you on the forms that change the account: a two-step account gives a code with the
// current password (never a recovery code), or confirms first on /account/confirm (10 minutes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { codeFor, turnOnTwoStep } from './support.ts';

describe("confirm it's you", () => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness('sqlite');
  });
  afterAll(() => h.close());

  /** A two-step user, and a session of theirs signed in with a recovery code (so not confirmed). */
  async function unconfirmedSession() {
    const user = await registeredUser(h, `conf${++n}`);
    const { secret, recoveryCodes } = await turnOnTwoStep(user.agent, user.password);
    const agent = h.request();
    await agent.post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
    await agent.post('/api/auth/second-step').send({ recovery_code: recoveryCodes[0] }).expect(200);
    return { ...user, agent, secret, recoveryCodes };
  }

  it('the JSON password change and deletion need a code with the password; a recovery code does not do', async () => {
    const user = await unconfirmedSession();
    const noCode = await user.agent.patch('/api/users/me/password').send({ current_password: user.password, new_password: 'a brand new passphrase' });
    expect(noCode.status).toBe(422);
    expect(noCode.body.error.fields).toHaveProperty('code');
    const recovery = await user.agent.delete('/api/users/me').send({ current_password: user.password, code: user.recoveryCodes[1] });
    expect(recovery.status).toBe(422);
    const noPassword = await user.agent.delete('/api/users/me').send({});
    expect(noPassword.status).toBe(401);
    expect(noPassword.body.error.code).toBe('confirmation_required');
    await user.agent.get('/api/users/me').expect(200);
    const changed = await user.agent
      .patch('/api/users/me/password')
      .send({ current_password: user.password, new_password: 'a brand new passphrase', code: codeFor(user.secret, 1) });
    expect(changed.status).toBe(200);
  });

  it('the account page asks a two-step account for a code on its forms, and the email change needs it', async () => {
    const user = await unconfirmedSession();
    const page = await user.agent.get('/account').expect(200);
    for (const form of ['password', 'email', 'delete']) expect(page.text).toContain(`id="${form}-code"`);
    const noCode = await user.agent.post('/account/email').type('form').send({ new_email: `new${n}@example.com`, current_password: user.password });
    expect(noCode.status).toBe(422);
    expect(noCode.text).toMatch(/id="email-code"[^>]*aria-invalid="true"/);
    const sent = await user.agent.post('/account/email').type('form').send({ new_email: `new${n}@example.com`, current_password: user.password, code: codeFor(user.secret, 1) });
    expect(sent.status).toBe(202);
    // Confirmed by that: the code is not asked again for 10 minutes.
    expect((await user.agent.get('/account').expect(200)).text).not.toContain('id="password-code"');
  });

  it('/account/confirm takes the password and a code, then goes back to a local next only', async () => {
    const user = await unconfirmedSession();
    const form = await user.agent.get('/account/confirm?next=/account/security').expect(200);
    expect(form.text).toContain('id="confirm-code"');
    const wrong = await user.agent.post('/account/confirm').type('form').send({ password: user.password, code: user.recoveryCodes[1], next: '/account/security' });
    expect(wrong.status).toBe(422);
    const away = await user.agent.post('/account/confirm').type('form').send({ password: user.password, code: codeFor(user.secret, 1), next: '//evil.example/x' });
    expect(away.status).toBe(303);
    expect(away.headers.location).toBe('/account/security');
    // Confirmed: turning two-step off asks nothing more.
    const security = await user.agent.get('/account/security').expect(200);
    expect(security.text).not.toContain('id="off-current-password"');
    await user.agent.delete('/api/users/me/two-step').send({}).expect(204);
  });

  it('an account without two-step keeps using the password alone', async () => {
    const user = await registeredUser(h, `conf${++n}`);
    const page = await user.agent.get('/account').expect(200);
    expect(page.text).not.toContain('id="password-code"');
    await user.agent.patch('/api/users/me/password').send({ current_password: user.password, new_password: 'another long passphrase' }).expect(200);
  });
});
