// Headers, cross-site refusal, bad input and errors: the guarantees every route shares.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { User } from '../../src/db/entities.ts';
import { dialects, mailArriving, mailSeen, registeredUser, startHarness, STRONG_PASSWORD, type Harness } from '../support/harness.ts';
import { confirmationLinkIn, tokenOf } from '../support/smtp.ts';
import { withClient } from '../support/postgres.ts';

const STATE_CHANGING: [method: 'post' | 'patch', path: string][] = [
  ['post', '/register'], ['post', '/login'], ['post', '/logout'], ['post', '/account/password'],
  ['post', '/forgot-password'], ['post', '/reset-password'], ['post', '/register/confirm'],
  ['post', '/api/users'], ['post', '/api/users/confirm'], ['post', '/api/auth/login'], ['post', '/api/auth/logout'],
  ['patch', '/api/users/me/password'], ['post', '/api/users/forgot-password'], ['post', '/api/users/reset-password'],
];

describe.each(dialects())('security on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  describe('headers', () => {
    it.each(['/', '/login', '/register', '/register/confirm', '/forgot-password', '/reset-password', '/nowhere', '/api/nowhere', '/healthz'])(
      '%s sends no-referrer, a strict CSP and no X-Powered-By',
      async (path) => {
        const res = await h.request().get(path);
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        expect(res.headers['x-powered-by']).toBeUndefined();
        const csp = res.headers['content-security-policy'];
        expect(csp).toContain("script-src 'self'");
        expect(csp).toContain("style-src 'self'");
        expect(csp).not.toContain('unsafe-inline');
        expect(csp).not.toContain('unsafe-eval');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
      },
    );

    it('pages carry no inline script or style', async () => {
      for (const path of ['/', '/login', '/register', '/forgot-password']) {
        const html = (await h.request().get(path)).text;
        expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
        expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/);
      }
    });
  });

  describe('cross-site requests', () => {
    it.each(STATE_CHANGING)('%s %s is refused with 403 from another site', async (method, path) => {
      for (const headers of [
        { 'Sec-Fetch-Site': 'cross-site' },
        { 'Sec-Fetch-Site': 'same-site' },
        { Origin: 'https://evil.example' },
        { Origin: 'null' },
      ]) {
        const res = await h.request()[method](path).set(headers).type('form').send({ email: 'a@example.com' });
        expect(res.status).toBe(403);
      }
    });

    it('a cross-site login or registration changes nothing', async () => {
      const before = await h.orm.em.fork().count(User, {});
      const res = await h.request().post('/register').set('Sec-Fetch-Site', 'cross-site').type('form')
        .send({ username: 'csrf_victim', email: 'csrf@example.com', password: STRONG_PASSWORD });
      expect(res.status).toBe(403);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(await h.orm.em.fork().count(User, {})).toBe(before);
    });

    it('a same-origin form POST from a no-referrer page (Origin: null) is accepted', async () => {
      const res = await h.request().post('/forgot-password')
        .set({ 'Sec-Fetch-Site': 'same-origin', Origin: 'null' }).type('form').send({ email: 'a@example.com' });
      expect(res.status).toBe(202);
    });

    it('same-origin browsers and non-browser JSON clients are accepted', async () => {
      await h.request().post('/api/users/forgot-password').set('Sec-Fetch-Site', 'same-origin').send({ email: 'a@example.com' }).expect(202);
      await h.request().post('/api/users/forgot-password').set('Origin', 'https://inkwell.test').send({ email: 'a@example.com' }).expect(202);
      await h.request().post('/api/users/forgot-password').send({ email: 'a@example.com' }).expect(202);
    });
  });

  describe('bad input', () => {
    const megabyte = 'x'.repeat(1024 * 1024);

    it.each([
      ['/api/users', { username: ['a', 'b'], email: 'a@example.com', password: STRONG_PASSWORD }],
      ['/api/users', { username: 'okname', email: { $gt: '' }, password: STRONG_PASSWORD }],
      ['/api/users', { username: 'okname', email: 'a@example.com', password: [STRONG_PASSWORD] }],
      ['/api/users', { username: 'okname', email: 'a@example.com' }],
      ['/api/users', {}],
      ['/api/auth/login', { email: ['a@example.com'], password: 'x' }],
      ['/api/auth/login', { email: 'a@example.com', password: { length: 1 } }],
      ['/api/auth/login', { email: 'a@example.com' }],
      ['/api/users/reset-password', { token: ['a'], new_password: STRONG_PASSWORD }],
      ['/api/users/reset-password', { new_password: STRONG_PASSWORD }],
      ['/api/users/confirm', { token: ['a'] }],
      ['/api/users/confirm', {}],
    ])('POST %s with %j is a 422 with field errors', async (path, body) => {
      const res = await h.request().post(path).send(body);
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('invalid_input');
      expect(Object.keys(res.body.error.fields).length).toBeGreaterThan(0);
    });

    it('a JSON array or scalar body is a 422', async () => {
      for (const body of ['[]', '"x"', 'null']) {
        const res = await h.request().post('/api/users').set('Content-Type', 'application/json').send(body);
        expect([400, 422]).toContain(res.status);
        expect(res.body.error).toBeDefined();
      }
    });

    it('malformed JSON is a 400 without a stack trace', async () => {
      const res = await h.request().post('/api/auth/login').set('Content-Type', 'application/json').send('{"email": ');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: { code: 'entity_parse_failed', message: 'The request body is not valid JSON.' } });
    });

    it('a 1 MB password is refused before anyone hashes it', async () => {
      for (const path of ['/api/users', '/api/auth/login']) {
        const res = await h.request().post(path).send({ username: 'huge', email: 'huge@example.com', password: megabyte });
        expect(res.status).toBe(413);
        expect(res.body.error.code).toBe('entity_too_large');
      }
      const form = await h.request().post('/login').type('form').send({ email: 'huge@example.com', password: megabyte });
      expect(form.status).toBe(413);
      expect(form.text).toContain('too large');
      // Just under the body limit but over the field limit: 422 with a message.
      const long = await h.request().post('/api/auth/login').send({ email: 'huge@example.com', password: 'x'.repeat(5000) });
      expect(long.status).toBe(422);
      expect(await h.orm.em.fork().count(User, { username: 'huge' })).toBe(0);
    });

    it('repeated form fields (arrays) are a 422 on every page form', async () => {
      const user = await registeredUser(h, 'arrays');
      const cases: [string, string][] = [
        ['/register', 'username=a&username=b&email=x@example.com&password=correct+horse+battery+staple'],
        ['/login', `email=${user.email}&email=x@example.com&password=x`],
        ['/forgot-password', 'email=a@example.com&email=b@example.com'],
        ['/reset-password', 'new_password=a+long+passphrase&new_password=another+long+one'],
      ];
      for (const [path, body] of cases) {
        const res = await h.request().post(path).type('form').send(body);
        expect(res.status).toBe(422);
        expect(res.text).toContain('single text value');
      }
      const change = await user.agent.post('/account/password').type('form').send('current_password=a&current_password=b&new_password=c');
      expect(change.status).toBe(422);
    });

    it('unknown routes are a 404 page or a 404 JSON error', async () => {
      const page = await h.request().get('/no/such/page');
      expect(page.status).toBe(404);
      expect(page.text).toContain('There is no page here.');
      const api = await h.request().get('/api/no/such/thing');
      expect(api.status).toBe(404);
      expect(api.body).toEqual({ error: { code: 'not_found', message: 'There is no page here.' } });
      await h.request().delete('/api/users/someone-else').expect(404);
    });
  });

  describe('health', () => {
    it('/healthz and /readyz answer 200 while the database is reachable', async () => {
      expect((await h.request().get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
      expect((await h.request().get('/readyz').expect(200)).body).toEqual({ status: 'ready' });
    });
  });
});

describe.each(dialects().filter((d) => d === 'postgres'))('faults on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());
  const dbName = () => new URL(h.db.url).pathname.slice(1);
  const asAdmin = (sql: string) => withClient(inject('postgresUrl'), (c) => c.query(sql, sql.includes('$1') ? [dbName()] : []));
  const dropConnections = () => asAdmin('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1');
  const readyAgain = async () => {
    let status = 0;
    for (let i = 0; i < 5 && status !== 200; i++) status = (await h.request().get('/readyz')).status;
    return status;
  };

  it('after the database drops every connection (a restart), the app recovers and loses nothing', async () => {
    const user = await registeredUser(h, 'survivor');
    await dropConnections();
    expect(await readyAgain()).toBe(200);
    await h.request().post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
  });

  it('with the database unreachable, /readyz is 503 and requests get an honest 503 without a stack trace', async () => {
    await asAdmin(`alter database ${dbName()} with allow_connections false`);
    await dropConnections();
    try {
      await h.request().get('/healthz').expect(200);
      await h.request().get('/readyz').expect(503);
      const api = await h.request().post('/api/auth/login').send({ email: 'a@example.com', password: 'whatever it is' });
      expect(api.status).toBe(503);
      expect(api.headers['retry-after']).toBe('10');
      expect(api.body.error.code).toBe('unavailable');
      const page = await h.request().post('/login').type('form').send({ email: 'a@example.com', password: 'whatever it is' });
      expect(page.status).toBe(503);
      expect(page.text).toContain('cannot reach its database');
      expect(page.text).not.toMatch(/at .*\.ts:\d+/);
      // Logged once per interval as the dependency being down, not as a stack trace per request.
      expect(h.logs.some((l) => l.includes('"database unavailable"'))).toBe(true);
    } finally {
      await asAdmin(`alter database ${dbName()} with allow_connections true`);
    }
    expect(await readyAgain()).toBe(200);
  });
});

describe('production cookies', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite', {
      env: { NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(40), MFA_ENCRYPTION_KEY: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', APP_BASE_URL: 'https://inkwell.test', TRUST_PROXY: '1' },
    });
  });
  afterAll(() => h.close());

  it('the session cookie is __Host-, Secure, HttpOnly and SameSite=Lax behind a TLS proxy', async () => {
    const seen = mailSeen(h);
    await h.request().post('/api/users').set('X-Forwarded-Proto', 'https')
      .send({ username: 'prod', email: 'prod@example.com', password: STRONG_PASSWORD }).expect(202);
    const mail = await mailArriving(h, seen, (m) => m.to.includes('prod@example.com'));
    const res = await h.request().post('/api/users/confirm').set('X-Forwarded-Proto', 'https')
      .send({ token: tokenOf(confirmationLinkIn(mail)), password: STRONG_PASSWORD });
    expect(res.status).toBe(201);
    const cookie = res.headers['set-cookie'][0];
    expect(cookie).toMatch(/^__Host-inkwell=/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=31536000/);
  });
});
