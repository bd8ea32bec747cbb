// Reset tokens: only their hash at rest, refused alike when bad, spent exactly once.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordResetToken } from '../../src/db/entities.ts';
import { dialects, registeredUser, requestResetToken, startHarness, type Harness } from '../support/harness.ts';

describe.each(dialects())('reset tokens on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  /** A fresh user and the token from the reset email they received. */
  async function userWithToken() {
    const user = await registeredUser(h, `user${++n}`);
    const token = await requestResetToken(h, user.email);
    return { ...user, token };
  }
  const redeem = (token: unknown, new_password = 'a fresh passphrase here') =>
    h.request().post('/api/users/reset-password').send({ token, new_password });

  it('only the SHA-256 of the token is stored, in rows and in the database file', async () => {
    const { token } = await userWithToken();
    const rows = await h.orm.em.fork().find(PasswordResetToken, {});
    expect(rows.length).toBeGreaterThan(0);
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(token);
    expect(rows.map((r) => r.tokenHash)).toContain(
      (await import('node:crypto')).createHash('sha256').update(token).digest('hex'),
    );
    if (h.db.sqliteFile) {
      // The file and its write-ahead log, byte for byte.
      const dir = dirname(h.db.sqliteFile);
      const bytes = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1')).join('');
      expect(bytes.length).toBeGreaterThan(0);
      expect(bytes).not.toContain(token);
    }
  });

  it('a token is spent once: the second redemption is refused', async () => {
    const { token } = await userWithToken();
    await redeem(token).expect(200);
    const again = await redeem(token, 'yet another passphrase');
    expect(again.status).toBe(400);
  });

  it('expired, used, superseded and garbage tokens get the same 400', async () => {
    const expired = await userWithToken();
    await h.orm.em.fork().nativeUpdate(PasswordResetToken, { user: expired.id }, { expiresAt: new Date(Date.now() - 1000) });

    const used = await userWithToken();
    await redeem(used.token).expect(200);

    const superseded = await userWithToken();
    await requestResetToken(h, superseded.email); // a newer link replaces the older one

    const answers = await Promise.all(
      [expired.token, used.token, superseded.token, 'garbage', 'A'.repeat(43), '', 12345, null].map((t) => redeem(t)),
    );
    const refusals = answers.filter((a) => a.status === 400);
    expect(refusals.length).toBe(6); // 12345 and null are not text at all: malformed input, 422
    expect(new Set(refusals.map((a) => a.text)).size).toBe(1);
    expect(refusals[0].body.error.code).toBe('invalid_token');
    expect(answers.slice(6).map((a) => a.status)).toEqual([422, 422]);
  });

  it('the reset page refuses bad links with one generic page', async () => {
    const pages = [];
    for (const token of ['garbage', 'B'.repeat(43)]) {
      const browser = h.request();
      await browser.get(`/reset-password?token=${token}`).expect(303);
      pages.push(await browser.get('/reset-password').expect(400).expect('Cache-Control', 'no-store'));
    }
    expect(pages[0].text).toBe(pages[1].text);
    expect(pages[0].text).toContain('invalid or has expired');
    expect(pages[0].text).toContain('href="/forgot-password"');
  });

  it('opening the link never consumes it (mail scanners follow links)', async () => {
    const { token } = await userWithToken();
    for (let i = 0; i < 3; i++) {
      const scanner = h.request();
      await scanner.get(`/reset-password?token=${token}`).expect(303);
      await scanner.get('/reset-password').expect(200);
    }
    await redeem(token).expect(200);
  });

  it('of 10 concurrent redemptions of one token, exactly one succeeds', async () => {
    const { token, email } = await userWithToken();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => redeem(token, `concurrent passphrase ${i}`)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
    // The password that won is the one that works now.
    const winner = answers.findIndex((a) => a.status === 200);
    await h.request().post('/api/auth/login').send({ email, password: `concurrent passphrase ${winner}` }).expect(200);
  });

  it('a too-weak new password is refused without spending the token', async () => {
    const { token } = await userWithToken();
    const weak = await redeem(token, 'password1');
    expect(weak.status).toBe(422);
    expect(weak.body.error.fields.new_password).toMatch(/common/);
    expect((await redeem(token, 'short')).status).toBe(422);
    expect((await redeem(token, 'x'.repeat(257))).status).toBe(422);
    await redeem(token).expect(200);
  });

  it('the token leaves the address bar: the link answers 303 to a clean URL with a path-scoped cookie', async () => {
    const { token } = await userWithToken();
    const browser = h.request();
    const first = await browser.get(`/reset-password?token=${token}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/reset-password');
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.headers['referrer-policy']).toBe('no-referrer');
    const cookie = first.headers['set-cookie'][0];
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Path=\/reset-password/);
    expect(cookie).toMatch(/SameSite=Lax/);
    const page = await browser.get('/reset-password').expect(200);
    expect(page.text).not.toContain(token);
    const done = await browser.post('/reset-password').type('form').send({ new_password: 'through the page form' });
    expect(done.status).toBe(303);
    expect(done.headers['set-cookie'][0]).toMatch(/inkwell_reset=;/);
  });
});
