// A reset ends every session of the user; a password change ends all but the one that made it.
import { createHmac, randomBytes } from 'node:crypto';
import type { SessionData } from 'express-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_TTL_MS } from '../../src/db/session-store.ts';
import { PasswordResetToken, Session } from '../../src/db/entities.ts';
import { hashSessionId } from '../../src/db/session-store.ts';
import { dialects, registeredUser, requestResetToken, startHarness, STRONG_PASSWORD, type Harness } from '../support/harness.ts';
import { recipients } from '../support/smtp.ts';

describe.each(dialects())('sessions and password changes on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  const nextName = () => `user${++n}`;
  async function logIn(email: string, password = STRONG_PASSWORD) {
    const agent = h.request();
    await agent.post('/api/auth/login').send({ email, password }).expect(200);
    return agent;
  }
  const sessionCount = (userId: number) => h.orm.em.fork().count(Session, { user: userId });

  it('a reset ends every session opened before it and logs nobody in', async () => {
    const user = await registeredUser(h, nextName());
    const laptop = await logIn(user.email);
    const phone = await logIn(user.email);
    expect(await sessionCount(user.id)).toBe(3);
    const token = await requestResetToken(h, user.email);

    const res = await h.request().post('/api/users/reset-password').send({ token, new_password: 'reset ends sessions' });
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
    for (const agent of [user.agent, laptop, phone]) await agent.get('/api/users/me').expect(401);
    expect(await sessionCount(user.id)).toBe(0);
  });

  it('a login that was in flight while the reset committed is logged out', async () => {
    const user = await registeredUser(h, nextName());
    const token = await requestResetToken(h, user.email);
    // The race, step by step: the login checks the old password...
    const login = await h.accounts.logIn({ email: user.email, password: user.password });
    expect(login.ok).toBe(true);
    // ...the reset commits and deletes every session...
    expect((await h.accounts.resetPassword(token, 'reset wins the race')).ok).toBe(true);
    // ...then the login saves its session, carrying the credential version it saw.
    const sid = randomBytes(24).toString('base64url');
    const data = {
      cookie: { originalMaxAge: SESSION_TTL_MS, expires: new Date(Date.now() + SESSION_TTL_MS), httpOnly: true, path: '/' },
      userId: login.ok ? login.step.signedIn!.user.id : 0,
      credentialVersion: login.ok ? login.step.signedIn!.user.credentialVersion : 0,
    } as unknown as SessionData;
    await new Promise<void>((resolve, reject) => h.sessions.set(sid, data, (err) => (err ? reject(err) : resolve())));
    expect(await h.orm.em.fork().count(Session, { sidHash: hashSessionId(sid) })).toBe(1);

    const cookie = `inkwell=${encodeURIComponent(signed(sid, h.config.sessionSecret))}`;
    await h.request().get('/api/users/me').set('Cookie', cookie).expect(401);
    // The stale session is gone, not merely ignored.
    expect(await h.orm.em.fork().count(Session, { sidHash: hashSessionId(sid) })).toBe(0);
  });

  it('a password change keeps this session under a fresh id and ends the others', async () => {
    const user = await registeredUser(h, nextName());
    const other = await logIn(user.email);
    const oldCookie = user.cookie;
    expect(oldCookie).toMatch(/^inkwell=s%3A/);

    const res = await user.agent
      .patch('/api/users/me/password')
      .send({ current_password: user.password, new_password: 'changed on purpose' });
    expect(res.status).toBe(200);
    const newCookie = res.headers['set-cookie']?.[0]?.split(';')[0];
    expect(newCookie).toBeDefined();
    expect(newCookie).not.toBe(oldCookie);

    await user.agent.get('/api/users/me').expect(200);
    await other.get('/api/users/me').expect(401);
    await h.request().get('/api/users/me').set('Cookie', oldCookie).expect(401);
    expect(await sessionCount(user.id)).toBe(1);
  });

  it('a password change deletes outstanding reset links and sends a notice', async () => {
    const user = await registeredUser(h, nextName());
    const token = await requestResetToken(h, user.email);
    await user.agent
      .patch('/api/users/me/password')
      .send({ current_password: user.password, new_password: 'changed again on purpose' })
      .expect(200);
    expect(await h.orm.em.fork().count(PasswordResetToken, { user: user.id })).toBe(0);
    await h.request().post('/api/users/reset-password').send({ token, new_password: 'too late for this' }).expect(400);
    const notice = await h.sink.waitFor((m) => recipients(m).includes(user.email) && /changed/.test(m.subject ?? ''));
    expect(notice.text).toContain('changed from your account page');
  });

  it('a password change needs the current password and changes nothing without it', async () => {
    const user = await registeredUser(h, nextName());
    const other = await logIn(user.email);
    const res = await user.agent
      .patch('/api/users/me/password')
      .send({ current_password: 'not my password', new_password: 'would be the new one' });
    expect(res.status).toBe(422);
    expect(res.body.error.fields.current_password).toBeTypeOf('string');
    await other.get('/api/users/me').expect(200);
    await h.request().post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
  });

  it('the account page changes the password for plain forms and for htmx', async () => {
    const user = await registeredUser(h, nextName());
    const plain = await user.agent
      .post('/account/password')
      .type('form')
      .send({ current_password: user.password, new_password: 'plain form change' });
    expect(plain.status).toBe(200);
    expect(plain.text).toContain('Your password has been changed');
    expect(plain.text).toContain('<html');
    const htmx = await user.agent
      .post('/account/password')
      .set('HX-Request', 'true')
      .type('form')
      .send({ current_password: 'plain form change', new_password: 'password' });
    expect(htmx.status).toBe(422);
    expect(htmx.text).not.toContain('<html');
    expect(htmx.text).toContain('id="password-new-password-error"');
    expect(htmx.text).toContain('aria-describedby="password-new-password-error');
  });

  it('expired sessions are pruned', async () => {
    const user = await registeredUser(h, nextName());
    await h.orm.em.fork().nativeUpdate(Session, { user: user.id }, { expiresAt: new Date(Date.now() - 1000) });
    await user.agent.get('/api/users/me').expect(401);
    expect(await h.sessions.pruneExpired()).toBeGreaterThanOrEqual(1);
    expect(await sessionCount(user.id)).toBe(0);
  });
});

/** express-session's cookie value: the id signed with HMAC-SHA256, as cookie-signature does it. */
function signed(sid: string, secret: string): string {
  return `s:${sid}.${createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '')}`;
}
