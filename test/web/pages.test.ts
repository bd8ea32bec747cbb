// The browser pages, one describe per route: plain forms (303 or 422 page) and htmx (fragments).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { User } from '../../src/db/entities.ts';
import { dialects, mailArriving, mailSeen, registeredUser, startHarness, STRONG_PASSWORD, type Harness } from '../support/harness.ts';
import { confirmationLinkIn } from '../support/smtp.ts';

describe.each(dialects())('pages on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());
  const htmx = { 'HX-Request': 'true' };
  const next = () => `page${++n}`;
  const users = () => h.orm.em.fork().count(User, {});

  describe('GET pages', () => {
    it.each(['/', '/register', '/login', '/forgot-password'])('%s renders the full page with the layout', async (path) => {
      const res = await h.request().get(path).expect(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toContain('<html lang="en">');
      expect(res.text).toContain('<script src="/static/htmx.min.js"');
      expect(res.text).toContain('href="/login"');
    });

    it('serves htmx and the stylesheet from this origin', async () => {
      const js = await h.request().get('/static/htmx.min.js').expect(200);
      expect(js.headers['content-type']).toMatch(/javascript/);
      expect(js.text.length).toBeGreaterThan(10_000);
      await h.request().get('/static/style.css').expect(200).expect('Content-Type', /css/);
    });

    it('the login page links to "Forgot your password?"', async () => {
      expect((await h.request().get('/login')).text).toContain('<a href="/forgot-password">Forgot your password?</a>');
    });
  });

  describe('POST /register', () => {
    it('answers 202; the emailed link creates the account, logs in and redirects to /account', async () => {
      const name = next();
      const seen = mailSeen(h);
      const res = await h.request().post('/register').type('form').send({ username: name, email: `${name}@example.com`, password: STRONG_PASSWORD });
      expect(res.status).toBe(202);
      expect(res.text).toContain('Check your inbox to finish creating your account.');
      const link = new URL(confirmationLinkIn(await mailArriving(h, seen, (m) => m.to.includes(`${name}@example.com`))));
      const agent = h.request();
      await agent.get(link.pathname + link.search).expect(303);
      await agent.get('/register/confirm').expect(200);
      const done = await agent.post('/register/confirm').type('form').send({ password: STRONG_PASSWORD });
      expect(done.status).toBe(303);
      expect(done.headers.location).toBe('/account');
      const account = await agent.get('/account').expect(200);
      expect(account.text).toMatch(new RegExp(`Signed in as </span><strong>${name}</strong>`));
      expect(account.text).toContain('Change your password');
    });

    it('re-renders the page with 422 and field errors, keeping what was typed (but never the password)', async () => {
      const before = await users();
      const res = await h.request().post('/register').type('form').send({ username: 'ok_name', email: 'nope', password: 'password1' });
      expect(res.status).toBe(422);
      expect(res.text).toContain('<html');
      expect(res.text).toContain('id="register-email-error"');
      expect(res.text).toContain('id="register-password-error"');
      expect(res.text).toContain('value="ok_name"');
      expect(res.text).not.toContain('password1');
      expect(await users()).toBe(before);
    });

    it('with htmx answers only the form fragment: the errors, or the inbox message', async () => {
      const bad = await h.request().post('/register').set(htmx).type('form').send({ username: 'x', email: 'x', password: 'x' });
      expect(bad.status).toBe(422);
      expect(bad.text.trimStart()).toMatch(/^<form id="register-form"/);
      expect(bad.headers.vary).toMatch(/HX-Request/);
      const name = next();
      const good = await h.request().post('/register').set(htmx).type('form').send({ username: name, email: `${name}@example.com`, password: STRONG_PASSWORD });
      expect(good.status).toBe(202);
      expect(good.text.trimStart()).toMatch(/^<div id="register-form"/);
      expect(good.text).toContain('Check your inbox to finish creating your account.');
    });

    it('answers a taken email exactly as a new one, and creates nothing', async () => {
      const user = await registeredUser(h, next());
      const before = await users();
      const taken = await h.request().post('/register').type('form').send({ username: next(), email: user.email.toUpperCase(), password: STRONG_PASSWORD });
      const name = next();
      const fresh = await h.request().post('/register').type('form').send({ username: name, email: `${name}@example.com`, password: STRONG_PASSWORD });
      expect(taken.status).toBe(202);
      expect(taken.text).toBe(fresh.text);
      await h.tasks.drain(5_000);
      expect(await users()).toBe(before);
    });
  });

  describe('POST /login', () => {
    it('redirects to a local next, and to /account for anything else', async () => {
      const user = await registeredUser(h, next());
      const cases: [string | undefined, string][] = [
        ['/account?tab=1', '/account?tab=1'],
        ['https://evil.example/', '/account'],
        ['//evil.example/x', '/account'],
        ['/\\evil.example', '/account'],
        [undefined, '/account'],
      ];
      for (const [target, expected] of cases) {
        const res = await h.request().post('/login').type('form').send({ email: user.email, password: user.password, ...(target ? { next: target } : {}) });
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe(expected);
      }
    });

    it('answers 401 with one generic message for a wrong password and an unknown email', async () => {
      const user = await registeredUser(h, next());
      const wrong = await h.request().post('/login').type('form').send({ email: user.email, password: 'wrong password!' });
      const unknown = await h.request().post('/login').type('form').send({ email: 'nobody@example.com', password: 'wrong password!' });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.text).toContain('The email or password is not correct.');
      expect(unknown.text.replace('nobody@example.com', user.email)).toBe(wrong.text);
    });

    it('regenerates the session id at login and sets HttpOnly, SameSite=Lax cookies', async () => {
      const user = await registeredUser(h, next());
      const agent = h.request();
      const first = await agent.post('/login').type('form').send({ email: user.email, password: user.password });
      const second = await agent.post('/login').type('form').send({ email: user.email, password: user.password });
      const cookie = first.headers['set-cookie'][0];
      expect(cookie).toMatch(/^inkwell=s%3A/);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Lax/);
      expect(cookie).not.toMatch(/Secure/); // not in development: production is tested in security.test.ts
      expect(second.headers['set-cookie'][0].split(';')[0]).not.toBe(cookie.split(';')[0]);
      await h.request().get('/account').set('Cookie', cookie.split(';')[0]).expect(303);
    });

    it('with htmx a failure swaps the form with the message, a success navigates', async () => {
      const user = await registeredUser(h, next());
      const bad = await h.request().post('/login').set(htmx).type('form').send({ email: user.email, password: 'wrong password!' });
      expect(bad.status).toBe(401);
      expect(bad.text.trimStart()).toMatch(/^<form id="login-form"/);
      expect(bad.text).toContain('role="alert"');
      const good = await h.request().post('/login').set(htmx).type('form').send({ email: user.email, password: user.password });
      expect(good.status).toBe(204);
      expect(good.headers['hx-redirect']).toBe('/account');
    });

    it('missing fields are a 422, not a 401', async () => {
      const res = await h.request().post('/login').type('form').send({ email: 'a@example.com' });
      expect(res.status).toBe(422);
      expect(res.text).toContain('id="login-password-error"');
    });
  });

  describe('POST /logout', () => {
    it('ends the session and redirects home', async () => {
      const user = await registeredUser(h, next());
      const res = await user.agent.post('/logout');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/');
      await h.request().get('/account').set('Cookie', user.cookie).expect(303);
    });
  });

  describe('GET /account', () => {
    it('sends visitors to log in and back', async () => {
      const res = await h.request().get('/account').expect(303);
      expect(res.headers.location).toBe('/login?next=%2Faccount');
      const login = await h.request().get('/login?next=%2Faccount').expect(200);
      expect(login.text).toContain('<input type="hidden" name="next" value="/account">');
    });

    it('shows the user and the change-password form', async () => {
      const user = await registeredUser(h, next());
      const page = await user.agent.get('/account').expect(200);
      expect(page.text).toContain(user.email);
      expect(page.text).toContain('action="/account/password"');
    });

    it('POST /account/password needs a user', async () => {
      const res = await h.request().post('/account/password').type('form').send({ current_password: 'x', new_password: 'y' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toMatch(/^\/login/);
    });
  });

  describe('GET /forgot-password and /reset-password', () => {
    it('the reset page without a link explains and offers a new one', async () => {
      const res = await h.request().get('/reset-password');
      expect(res.status).toBe(400);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).toContain('href="/forgot-password"');
    });

    it('the login page shows the notice after a reset', async () => {
      const res = await h.request().get('/login?notice=password_reset').expect(200);
      expect(res.text).toContain('Your password has been reset.');
      expect(res.text).toContain('role="status"');
      const other = await h.request().get('/login?notice=<script>').expect(200);
      expect(other.text).not.toContain('<script>');
    });
  });

  // Served from one rendered copy before the session middleware; the bench measures what that saves.
  describe('pages the same for every anonymous visitor', () => {
    const SAME_FOR_EVERYONE = ['/login', '/register', '/forgot-password', '/docs/api'];

    it.each(SAME_FOR_EVERYONE)('%s: the copy has the same bytes and headers as the first rendering, and no cookie', async (path) => {
      const first = await h.request().get(path).expect(200);
      const again = await h.request().get(path).expect(200);
      expect(again.text).toBe(first.text);
      for (const header of ['content-security-policy', 'referrer-policy', 'content-type', 'vary', 'etag', 'x-frame-options']) {
        expect(again.headers[header], header).toBe(first.headers[header]);
      }
      expect(again.headers['referrer-policy']).toBe('no-referrer');
      expect(again.headers['cache-control']).toBeUndefined();
      expect(again.headers['set-cookie']).toBeUndefined();
      await h.request().get(path).set('If-None-Match', again.headers.etag).expect(304);
    });

    it('?next= and notices are still rendered for each request', async () => {
      await h.request().get('/login').expect(200);
      const back = await h.request().get('/login?next=%2Faccount').expect(200);
      expect(back.text).toContain('name="next" value="/account"');
      const notice = await h.request().get('/login?notice=password_reset').expect(200);
      expect(notice.text).toContain('Your password has been reset.');
      expect((await h.request().get('/login')).text).not.toContain('Your password has been reset.');
    });

    it('a signed-in visitor takes the usual path: /login sends them to their account, other pages name them', async () => {
      await h.request().get('/login').expect(200);
      await h.request().get('/register').expect(200);
      const { agent } = await registeredUser(h, next());
      await agent.get('/login').expect(303).expect('Location', '/account');
      const page = await agent.get('/register').expect(200);
      expect(page.text).toContain('Signed in as');
      expect(page.headers['cache-control']).toBe('no-store');
    });

    it('htmx still gets the fragment', async () => {
      await h.request().get('/login').expect(200);
      const res = await h.request().get('/login').set(htmx).expect(200);
      expect(res.text).not.toContain('<html');
      expect(res.text).toContain('id="login-form"');
    });
  });
});
