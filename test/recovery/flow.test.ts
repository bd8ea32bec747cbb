// The whole reset flow over HTTP, with the link taken from the email the SMTP server received.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { recipients, resetLinkIn } from '../support/smtp.ts';

describe.each(dialects())('password reset on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  it('a reset link from the email sets a new password and ends the old session', async () => {
    const alice = await registeredUser(h, 'alice');
    await h.request().post('/forgot-password').type('form').send({ email: 'Alice@Example.com ' }).expect(202);
    const mail = await h.sink.waitFor((m) => recipients(m).includes(alice.email) && m.subject === 'Reset your Inkwell password');
    const link = resetLinkIn(mail);
    expect(link.startsWith('https://inkwell.test/reset-password?token=')).toBe(true);
    expect(mail.text).toContain('alice');
    expect(mail.text).toContain('1 hour');

    const browser = h.request();
    const first = await browser.get(new URL(link).pathname + new URL(link).search).expect(303);
    expect(first.headers.location).toBe('/reset-password');
    await browser.get('/reset-password').expect(200).expect('Cache-Control', 'no-store');
    const done = await browser.post('/reset-password').type('form').send({ new_password: 'a brand new passphrase' }).expect(303);
    expect(done.headers.location).toBe('/login?notice=password_reset');

    await alice.agent.get('/api/users/me').expect(401);
    await h.request().post('/api/auth/login').send({ email: alice.email, password: alice.password }).expect(401);
    await h.request().post('/api/auth/login').send({ email: alice.email, password: 'a brand new passphrase' }).expect(200);
    const notice = await h.sink.waitFor((m) => m.subject === 'Your Inkwell password was changed');
    expect(recipients(notice)).toEqual([alice.email]);
  });
});
