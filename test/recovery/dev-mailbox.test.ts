// With no SMTP_URL in development, mail lands in /dev/mailbox, where the whole reset can be walked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { PATIENCE_MS } from '../support/net.ts';

describe.each(dialects())('dev mailbox on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { SMTP_URL: '', NODE_ENV: 'development', APP_BASE_URL: 'http://localhost:3000' } });
  });
  afterAll(() => h.close());

  it('shows reset emails newest first, each readable with its link clickable', async () => {
    const frank = await registeredUser(h, 'frank');
    const grace = await registeredUser(h, 'grace');
    for (const email of [frank.email, grace.email]) {
      await h.request().post('/forgot-password').type('form').send({ email }).expect(202);
      await h.tasks.drain(PATIENCE_MS);
    }
    const list = await h.request().get('/dev/mailbox').expect(200);
    expect(list.text.indexOf(grace.email)).toBeLessThan(list.text.indexOf(frank.email));
    expect(list.text).toContain('Reset your Inkwell password');
    const first = /href="(\/dev\/mailbox\/\d+)"/.exec(list.text)![1];

    const message = await h.request().get(first).expect(200);
    expect(message.text).toContain(grace.email);
    const link = /<a href="(http:\/\/localhost:3000\/reset-password\?token=[\w-]+)">/.exec(message.text)?.[1];
    expect(link).toBeDefined();

    const browser = h.request();
    await browser.get(new URL(link!).pathname + new URL(link!).search).expect(303);
    await browser.get('/reset-password').expect(200);
    await browser.post('/reset-password').type('form').send({ new_password: 'walked through the mailbox' }).expect(303);
    await h.request().post('/api/auth/login').send({ email: grace.email, password: 'walked through the mailbox' }).expect(200);
    const after = await h.request().get('/dev/mailbox').expect(200);
    expect(after.text).toContain('Your Inkwell password was changed');
  });

  it('says when each message came in the reader\'s words, with the exact time on hover', async () => {
    const ida = await registeredUser(h, 'ida');
    await h.request().post('/forgot-password').type('form').send({ email: ida.email }).expect(202);
    await h.tasks.drain(PATIENCE_MS);
    const newest = h.mailer.mailbox![0];
    expect(newest.to).toBe(ida.email);
    const exact = `${newest.date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
    const fresh = await h.request().get('/dev/mailbox').expect(200);
    expect(fresh.text).toContain(`title="${exact}">just now</time>`);
    // Backdated rather than waited for.
    newest.date = new Date(Date.now() - 2 * 60_000 - 5_000);
    const later = await h.request().get('/dev/mailbox').expect(200);
    expect(later.text).toMatch(/title="[^"]+ UTC">2 minutes ago<\/time>/);
    expect(later.text).not.toMatch(/>\d\d:\d\d:\d\d UTC</);
  });
});

describe('dev mailbox in production', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite', {
      env: { NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40), MFA_ENCRYPTION_KEY: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', APP_BASE_URL: 'https://inkwell.test' },
    });
  });
  afterAll(() => h.close());

  it('does not exist', async () => {
    await h.request().get('/dev/mailbox').expect(404);
    await h.request().get('/dev/mailbox/1').expect(404);
  });
});
