// The JSON API, one describe per route, with DESIGN.md's statuses and error shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, mailArriving, mailSeen, registeredUser, startHarness, STRONG_PASSWORD, type Harness } from '../support/harness.ts';
import { confirmationLinkIn, tokenOf } from '../support/smtp.ts';

describe.each(dialects())('JSON API on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  describe('POST /api/users and /api/users/confirm', () => {
    it('answers 202 and creates nobody; the emailed token creates the user (201), logs them in, and never returns the hash', async () => {
      const seen = mailSeen(h);
      const res = await h.request().post('/api/users').send({ username: 'Api_User', email: ' Api@Example.com', password: STRONG_PASSWORD });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ message: 'Check your inbox to finish creating your account.' });
      const mail = await mailArriving(h, seen, (m) => m.to.includes('api@example.com'));
      const agent = h.request();
      await agent.get('/api/users/me').expect(401);
      const confirmed = await agent.post('/api/users/confirm').send({ token: tokenOf(confirmationLinkIn(mail)), password: STRONG_PASSWORD });
      expect(confirmed.status).toBe(201);
      expect(confirmed.body.user).toMatchObject({ username: 'api_user', email: 'api@example.com' });
      expect(Object.keys(confirmed.body.user).sort()).toEqual(['created_at', 'email', 'id', 'username']);
      await agent.get('/api/users/me').expect(200);
    });

    it('answers 422 with the error shape for a common password, and 202 for a taken email', async () => {
      await registeredUser(h, 'taken');
      const res = await h.request().post('/api/users').send({ username: 'other', email: 'taken@example.com', password: 'qwerty123' });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        error: {
          code: 'invalid_input',
          message: 'Some fields need attention.',
          fields: { password: 'This password is too common; choose another.' },
        },
      });
      const taken = await h.request().post('/api/users').send({ username: 'other', email: 'taken@example.com', password: STRONG_PASSWORD });
      expect(taken.status).toBe(202);
      expect(taken.body).toEqual({ message: 'Check your inbox to finish creating your account.' });
    });
  });

  describe('POST /api/auth/login', () => {
    it('answers 200 with the user and a session cookie', async () => {
      const user = await registeredUser(h, 'loginapi');
      const res = await h.request().post('/api/auth/login').send({ email: 'LOGINAPI@example.com', password: user.password });
      expect(res.status).toBe(200);
      expect(res.body.user.username).toBe('loginapi');
      expect(res.headers['set-cookie'][0]).toMatch(/^inkwell=/);
    });

    it('answers 401 invalid_credentials alike for a wrong password and an unknown email', async () => {
      const user = await registeredUser(h, 'wrongapi');
      const wrong = await h.request().post('/api/auth/login').send({ email: user.email, password: 'nope nope nope' });
      const unknown = await h.request().post('/api/auth/login').send({ email: 'ghost@example.com', password: 'nope nope nope' });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(unknown.text).toBe(wrong.text);
      expect(wrong.body.error.code).toBe('invalid_credentials');
      expect(wrong.headers['set-cookie']).toBeUndefined();
    });
  });

  describe('POST /api/auth/logout', () => {
    it('answers 204 and the old cookie no longer works', async () => {
      const user = await registeredUser(h, 'logoutapi');
      await user.agent.post('/api/auth/logout').expect(204);
      await h.request().get('/api/users/me').set('Cookie', user.cookie).expect(401);
    });
  });

  describe('GET /api/users/me', () => {
    it('answers 401 not_authenticated without a session', async () => {
      const res = await h.request().get('/api/users/me');
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('not_authenticated');
    });

    it('ignores a forged or unsigned session cookie', async () => {
      await h.request().get('/api/users/me').set('Cookie', 'inkwell=s%3Aforged.signature').expect(401);
      await h.request().get('/api/users/me').set('Cookie', 'inkwell=plainid').expect(401);
    });
  });

  describe('PATCH /api/users/me/password', () => {
    it('answers 401 without a session and 200 with one', async () => {
      await h.request().patch('/api/users/me/password').send({ current_password: 'x', new_password: 'y' }).expect(401);
      const user = await registeredUser(h, 'patchapi');
      const res = await user.agent.patch('/api/users/me/password').send({ current_password: user.password, new_password: 'patched passphrase' });
      expect(res.status).toBe(200);
      await h.request().post('/api/auth/login').send({ email: user.email, password: 'patched passphrase' }).expect(200);
    });
  });

  describe('POST /api/users/reset-password', () => {
    it('needs a token and a new password', async () => {
      const res = await h.request().post('/api/users/reset-password').send({});
      expect(res.status).toBe(422);
      expect(Object.keys(res.body.error.fields).sort()).toEqual(['new_password', 'token']);
    });
  });
});
