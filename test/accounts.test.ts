// The account domain through its public API, with no HTTP: sign up, log in, change, reset.
import argon2 from 'argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordResetToken, User } from '../src/db/entities.ts';
import { dialects, startHarness, STRONG_PASSWORD, type Harness } from './support/harness.ts';
import { CONFIRM_SUBJECT, confirmationLinkIn, recipients, resetLinkIn, tokenOf } from './support/smtp.ts';
import { PATIENCE_MS } from './support/net.ts';

describe.each(dialects())('accounts on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  const fresh = () => {
    n++;
    return { username: `person${n}`, email: `Person${n}@Example.com `, password: STRONG_PASSWORD };
  };
  const stored = (email: string) => h.orm.em.fork().findOneOrFail(User, { email });

  /** Sign-up as the domain sees it: recorded, worked on by its job, confirmed with the emailed token. */
  async function register(input: { username: string; email: string; password: string }) {
    const recorded = await h.accounts.recordSignup(input);
    if (!recorded.ok) return recorded;
    const seen = h.sink.messages.length;
    h.jobs.wake(); // as the handler does once its answer is out
    const to = input.email.trim().toLowerCase();
    const mail = await h.sink.waitFor((m) => h.sink.messages.indexOf(m) >= seen && recipients(m).includes(to) && m.subject === CONFIRM_SUBJECT);
    return h.accounts.confirmSignup(tokenOf(confirmationLinkIn(mail)), { password: input.password });
  }

  describe('recordSignup and confirmSignup', () => {
    it('stores the email trimmed and lower-cased and the password as an argon2id hash', async () => {
      const input = fresh();
      const outcome = await register(input);
      expect(outcome.ok).toBe(true);
      const user = await stored(`person${n}@example.com`);
      expect(user.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,(t=2,p=1|p=1,t=2)\$/);
      expect(user.passwordHash).not.toContain(input.password);
      expect(user.credentialVersion).toBe(1);
    });

    it('refuses a taken username at once, but records a taken email like any other', async () => {
      const input = fresh();
      await register(input);
      const again = await h.accounts.recordSignup({ ...input, email: 'someone.else@example.com' });
      expect(again).toEqual({ ok: false, reason: 'invalid', fields: { username: 'This username is taken.' } });
      const sameEmail = await h.accounts.recordSignup({ ...fresh(), email: input.email.toUpperCase() });
      expect(sameEmail.ok).toBe(true);
    });

    it.each([['short', /at least 8/], ['password123', /too common/], ['x'.repeat(257), /at most 256/]])(
      'refuses the password %#',
      async (password, message) => {
        const outcome = await h.accounts.recordSignup({ ...fresh(), password });
        expect(outcome.ok === false && outcome.fields.password).toMatch(message);
        expect(await h.orm.em.fork().count(User, { username: `person${n}` })).toBe(0);
      },
    );

    it('counts characters, not bytes: eight different emoji are a valid password', async () => {
      expect((await register({ ...fresh(), password: '🦉🐙🦊🐝🐢🦔🐳🦜' })).ok).toBe(true);
    });
  });

  describe('logIn', () => {
    it('accepts the right password and refuses a wrong one or an unknown email alike', async () => {
      const input = fresh();
      await register(input);
      expect(await h.accounts.logIn({ email: input.email, password: input.password })).toMatchObject({ ok: true });
      const wrong = await h.accounts.logIn({ email: input.email, password: 'not the password' });
      const unknown = await h.accounts.logIn({ email: 'nobody@example.com', password: 'not the password' });
      expect(wrong).toEqual({ ok: false, reason: 'invalid_credentials' });
      expect(unknown).toEqual(wrong);
    });

    it('upgrades a hash made with older, weaker parameters', async () => {
      const input = fresh();
      await register(input);
      const email = `person${n}@example.com`;
      const weak = await argon2.hash(input.password, { type: argon2.argon2id, memoryCost: 8192, timeCost: 1, parallelism: 1 });
      await h.orm.em.fork().nativeUpdate(User, { email }, { passwordHash: weak });
      expect((await h.accounts.logIn({ email, password: input.password })).ok).toBe(true);
      const after = await stored(email);
      expect(after.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,(t=2,p=1|p=1,t=2)\$/);
      expect((await h.accounts.logIn({ email, password: input.password })).ok).toBe(true);
    });
  });

  describe('changePassword', () => {
    it('bumps the credential version and requires the current password', async () => {
      const input = fresh();
      const reg = await register(input);
      const id = reg.ok && reg.step.signedIn ? reg.step.signedIn.user.id : 0;
      expect(await h.accounts.changePassword(id, { currentPassword: 'wrong one', newPassword: 'brand new secret' })).toMatchObject({
        ok: false,
        reason: 'wrong_password',
      });
      const changed = await h.accounts.changePassword(id, { currentPassword: input.password, newPassword: 'brand new secret' });
      expect(changed).toEqual({ ok: true, user: { id, credentialVersion: 2 } });
    });
  });

  describe('requestPasswordReset and resetPassword', () => {
    it('reports an unknown email as a value, and sends nothing', async () => {
      await h.tasks.drain(PATIENCE_MS);
      const before = h.sink.messages.length;
      expect(await h.accounts.requestPasswordReset('nobody@example.com')).toBe('unknown_email');
      await h.tasks.drain(PATIENCE_MS);
      expect(h.sink.messages.length).toBe(before);
    });

    it('stores one live token per account with the configured lifetime', async () => {
      const input = fresh();
      const reg = await register(input);
      const id = reg.ok && reg.step.signedIn ? reg.step.signedIn.user.id : 0;
      expect(await h.accounts.requestPasswordReset(input.email)).toBe('sent');
      expect(await h.accounts.requestPasswordReset(input.email)).toBe('sent');
      // Each email mints its link when it is sent, superseding the one before.
      await h.tasks.drain();
      const rows = await h.orm.em.fork().find(PasswordResetToken, { user: id });
      expect(rows).toHaveLength(1);
      const lifetime = rows[0].expiresAt.getTime() - rows[0].createdAt.getTime();
      expect(lifetime).toBe(60 * 60_000);
      expect(rows[0].tokenHash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('an expired token (backdated row) is refused and the password stays', async () => {
      const input = fresh();
      const reg = await register(input);
      const id = reg.ok && reg.step.signedIn ? reg.step.signedIn.user.id : 0;
      await h.accounts.requestPasswordReset(input.email);
      const mail = await h.sink.waitFor((m) => recipients(m).includes(`person${n}@example.com`) && m.subject === 'Reset your Inkwell password');
      const token = tokenOf(resetLinkIn(mail));
      expect(await h.accounts.checkResetToken(token)).toBe(true);
      await h.orm.em.fork().nativeUpdate(PasswordResetToken, { user: id }, { expiresAt: new Date(Date.now() - 1) });
      expect(await h.accounts.checkResetToken(token)).toBe(false);
      expect(await h.accounts.resetPassword(token, 'never gets set')).toEqual({ ok: false, reason: 'invalid_token' });
      expect((await h.accounts.logIn({ email: input.email, password: input.password })).ok).toBe(true);
    });
  });
  it('expired reset tokens are pruned, live ones kept', async () => {
    const input = fresh();
    const reg = await register(input);
    const id = reg.ok && reg.step.signedIn ? reg.step.signedIn.user.id : 0;
    await h.accounts.requestPasswordReset(input.email);
    const other = fresh();
    await register(other);
    await h.accounts.requestPasswordReset(other.email);
    await h.tasks.drain();
    await h.orm.em.fork().nativeUpdate(PasswordResetToken, { user: id }, { expiresAt: new Date(Date.now() - 1) });
    expect(await h.accounts.deleteExpiredResetTokens()).toBeGreaterThanOrEqual(1);
    expect(await h.orm.em.fork().count(PasswordResetToken, { user: id })).toBe(0);
    expect(await h.orm.em.fork().count(PasswordResetToken, {})).toBeGreaterThanOrEqual(1);
  });
});
