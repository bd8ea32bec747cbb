// The new-password policy (NIST SP 800-63B): length, common passwords, the site's and the account's own
// words, and repetitive or sequential strings; one plain message, no composition rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordProblem } from '../src/accounts/passwords.ts';
import { dialects, registeredUser, requestResetToken, startHarness, type Harness } from './support/harness.ts';

const TOO_EASY = /^This password is too common; choose another.$/;
const alice = { username: 'alice', email: 'alice.smith@example.com' };

describe('passwordProblem', () => {
  it.each([
    '        ', 'aaaaaaaa', 'abcdefgh', '12345678', '87654321', 'zyxwvuts', '1234abcd', 'qwertyuiop', 'abababab',
    'abcabcabc', 'aaaabbbbcccc', 'a b c d e f g h',
  ])('refuses the trivial %j', (password) => {
    expect(passwordProblem(password)).toMatch(TOO_EASY);
  });

  it.each([
    'alicealice', 'Alice2026', 'alice.smith', 'alice.smith@example.com', 'ALICE.SMITH@EXAMPLE.COM', 'smith123',
    'example2026', 'inkwell1', 'Inkwell2026!', 'inkwellinkwell', 'inkwell password',
  ])('refuses %j for alice at example.com, whose site is Inkwell', (password) => {
    expect(passwordProblem(password, alice)).toMatch(TOO_EASY);
  });

  it.each([
    'correct horse battery staple', 'brand new secret', 'Tr0ub4dor&3', 'hello world 42', 'inkwell is my favourite blog',
    'alice likes long walks', '🦉🐙🦊🐝🐢🦔🐳🦜', 'mpvqzjxw',
  ])('accepts %j, with no composition rules', (password) => {
    expect(passwordProblem(password, alice)).toBeNull();
  });
});

describe.each(dialects())('the policy on every form that sets a password, on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  it('sign-up refuses the username or the email as the password', async () => {
    for (const password of ['mallory-mallory', 'mallory@example.com', '        ']) {
      const res = await h.request().post('/api/users').send({ username: 'mallory', email: 'mallory@example.com', password });
      expect(res.status).toBe(422);
      expect(res.body.error.fields.password).toMatch(TOO_EASY);
    }
  });

  it('a change refuses the account\'s own email and the site\'s name', async () => {
    const user = await registeredUser(h, 'changer');
    for (const new_password of [user.email, 'changer2026', 'inkwell123']) {
      const res = await user.agent.patch('/api/users/me/password').send({ current_password: user.password, new_password });
      expect(res.status).toBe(422);
      expect(res.body.error.fields.new_password).toMatch(TOO_EASY);
    }
    const page = await user.agent.post('/account/password').type('form').send({ current_password: user.password, new_password: 'changer-changer' });
    expect(page.status).toBe(422);
    expect(page.text).toContain('This password is too common; choose another.');
  });

  it('a reset refuses the account\'s username without spending the link', async () => {
    const user = await registeredUser(h, 'resetter');
    const token = await requestResetToken(h, user.email);
    const weak = await h.request().post('/api/users/reset-password').send({ token, new_password: 'resetter2026' });
    expect(weak.status).toBe(422);
    expect(weak.body.error.fields.new_password).toMatch(TOO_EASY);
    await h.request().post('/api/users/reset-password').send({ token, new_password: 'a sound new passphrase' }).expect(200);
  });
});
