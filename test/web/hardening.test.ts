// Findings of the security review (issue 18) that every route shares: logout, the reset cookie,
// `next`, control characters, caching of account data, notices and the request log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session } from '../../src/db/entities.ts';
import { localPath } from '../../src/web/forms.ts';
import { dialects, registeredUser, requestResetToken, startHarness, STRONG_PASSWORD, type Harness } from '../support/harness.ts';

const NUL = '\u0000';
// Paths that resolve to `//evil.example` (another host, to a browser) once dot segments are removed.
const LEAVING_PATHS = [
  '//evil.example', '/\\evil.example', 'https://evil.example', '/.//evil.example', '/..//evil.example',
  '/%2e//evil.example', '/%2E%2E//evil.example', '/%2e%2e/%2e%2e//evil.example', '/./\\evil.example',
  '/a/..//evil.example', '/.//evil.example/account?x=1', '/\t/evil.example',
];

describe('localPath', () => {
  it.each(LEAVING_PATHS)('refuses %j', (next) => {
    expect(localPath(next)).toBeUndefined();
  });

  it.each([['/account', '/account'], ['/account?tab=1', '/account?tab=1'], ['/a/./b/../c', '/a/c']])(
    'keeps the local path %j',
    (next, path) => {
      expect(localPath(next)).toBe(path);
    },
  );
});

describe.each(dialects())('review findings on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());
  const sessionsOf = (userId?: number) => h.orm.em.fork().count(Session, userId === undefined ? {} : { user: userId });

  describe('logout', () => {
    it('without a session writes nothing and sets no cookie', async () => {
      const before = await sessionsOf();
      for (const [path, status] of [['/logout', 303], ['/api/auth/logout', 204]] as const) {
        for (let i = 0; i < 5; i++) {
          const res = await h.request().post(path);
          expect(res.status).toBe(status);
          expect(res.headers['set-cookie']).toBeUndefined();
        }
      }
      expect(await sessionsOf()).toBe(before);
    });

    it.each([['/logout', 303], ['/api/auth/logout', 204]] as const)(
      'POST %s with a session deletes it and clears the cookie',
      async (path, status) => {
        const user = await registeredUser(h, `leaver${status}`);
        expect(await sessionsOf(user.id)).toBe(1);
        const res = await h.request().post(path).set('Cookie', user.cookie);
        expect(res.status).toBe(status);
        expect(res.headers['set-cookie']?.[0]).toMatch(/^inkwell=;.*Expires=Thu, 01 Jan 1970/);
        expect(await sessionsOf(user.id)).toBe(0);
        await h.request().get('/api/users/me').set('Cookie', user.cookie).expect(401);
      },
    );
  });

  describe('the reset cookie', () => {
    it('sent twice it is refused, whichever copy comes first, and no password changes', async () => {
      const victim = await registeredUser(h, 'victim4');
      const attacker = await registeredUser(h, 'attacker4');
      const victimToken = await requestResetToken(h, victim.email);
      const attackerToken = await requestResetToken(h, attacker.email);
      for (const tokens of [[attackerToken, victimToken], [victimToken, attackerToken]]) {
        const cookie = tokens.map((t) => `inkwell_reset=${t}`).join('; ');
        expect((await h.request().get('/reset-password').set('Cookie', cookie)).status).toBe(400);
        const res = await h.request().post('/reset-password').set('Cookie', cookie).type('form')
          .send({ new_password: 'what the victim typed' });
        expect(res.status).toBe(400);
      }
      for (const user of [victim, attacker]) {
        await h.request().post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
      }
      // Each link still works on its own.
      await h.request().post('/reset-password').set('Cookie', `inkwell_reset=${victimToken}`).type('form')
        .send({ new_password: 'what the victim typed' }).expect(303);
    });
  });

  describe('next after login', () => {
    it('never sends the browser to another host', async () => {
      const user = await registeredUser(h, 'returner');
      // (A tab or line break in `next` is refused outright, with a 422, like any control character.)
      for (const next of LEAVING_PATHS.filter((p) => !/\p{Cc}/u.test(p))) {
        const res = await h.request().post('/login').type('form').send({ email: user.email, password: user.password, next });
        expect(res.status, next).toBe(303);
        expect(res.headers.location, next).toBe('/account');
      }
      const local = await h.request().post('/login').type('form').send({ email: user.email, password: user.password, next: '/account?tab=1' });
      expect(local.headers.location).toBe('/account?tab=1');
    });
  });

  describe('control characters', () => {
    it('a NUL in the login email is a 422, as JSON and as a form, and logs no error', async () => {
      const api = await h.request().post('/api/auth/login').send({ email: `a${NUL}@example.com`, password: 'whatever it is' });
      expect(api.status).toBe(422);
      expect(api.body.error.fields.email).toMatch(/control characters/);
      const page = await h.request().post('/login').type('form').send(`email=a%00%40example.com&password=whatever`);
      expect(page.status).toBe(422);
      expect(page.text).toContain('control characters');
      expect(h.logs.some((l) => l.includes('"request failed"'))).toBe(false);
    });

    const token = 'A'.repeat(43);
    it.each([
      ['/api/auth/login', { email: 'a@example.com', password: `pass${NUL}word here` }, 'password'],
      ['/api/auth/login', { email: 'a@example.com', password: 'whatever it is', next: '/account\r\nX-Injected: 1' }, 'next'],
      ['/api/users', { username: 'ctl', email: 'ctl@example.com\r\nBcc: x@evil.example', password: STRONG_PASSWORD }, 'email'],
      ['/api/users', { username: 'ctl', email: 'ctl@example.com', password: `correct horse\u001bbattery` }, 'password'],
      ['/api/users/forgot-password', { email: 'a@example.com\n' }, 'email'],
      ['/api/users/forgot-password', { email: 'a\u0085@example.com' }, 'email'],
      ['/api/users/reset-password', { token: `${token.slice(1)}${NUL}`, new_password: STRONG_PASSWORD }, 'token'],
      ['/api/users/reset-password', { token, new_password: `correct\u0007horse battery` }, 'new_password'],
    ])('POST %s with %j is a 422 naming the field', async (path, body, field) => {
      const res = await h.request().post(path).send(body);
      expect(res.status).toBe(422);
      expect(res.body.error.fields[field]).toMatch(/control characters/);
    });

    it('changing the password refuses them too', async () => {
      const user = await registeredUser(h, 'ctlchange');
      const res = await user.agent.patch('/api/users/me/password').send({ current_password: user.password, new_password: `new\u007fpassword here` });
      expect(res.status).toBe(422);
      expect(res.body.error.fields.new_password).toMatch(/control characters/);
    });
  });

  describe('caching', () => {
    it('every answer to a signed-in user is no-store, pages and API alike', async () => {
      const user = await registeredUser(h, 'cached');
      for (const path of ['/', '/account', '/api/users/me', '/login', '/forgot-password', '/nowhere']) {
        const res = await h.request().get(path).set('Cookie', user.cookie);
        expect(res.headers['cache-control'], path).toBe('no-store');
      }
      const login = await h.request().post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
      expect(login.body.user.email).toBe(user.email);
      expect(login.headers['cache-control']).toBe('no-store');
    });
  });

  describe('notices', () => {
    it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
      '?notice=%s shows no notice',
      async (notice) => {
        const res = await h.request().get(`/login?notice=${notice}`).expect(200);
        expect(res.text).not.toContain('[object Object]');
        expect(res.text).not.toContain('native code');
        expect(res.text).not.toMatch(/class="[^"]*success/);
      },
    );
  });
});

describe('request log behind one trusted proxy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite', { env: { TRUST_PROXY: '1' } });
  });
  afterAll(() => h.close());
  const lines = () => h.logs.map((l) => JSON.parse(l)).filter((l) => l.req);

  it('records the client address from X-Forwarded-For and the user id, never the email or session id', async () => {
    const user = await registeredUser(h, 'traced');
    await h.request().get('/api/users/me').set('Cookie', user.cookie).set('X-Forwarded-For', '203.0.113.7').expect(200);
    const line = lines().find((l) => l.req.url === '/api/users/me');
    expect(line.req.ip).toBe('203.0.113.7');
    expect(line.user_id).toBe(user.id);

    await h.request().post('/api/auth/login').set('X-Forwarded-For', '198.51.100.9').send({ email: user.email, password: user.password }).expect(200);
    const login = lines().find((l) => l.req.url === '/api/auth/login' && l.req.ip === '198.51.100.9');
    expect(login.user_id).toBe(user.id);

    const anonymous = await h.request().get('/').set('X-Forwarded-For', '192.0.2.1').expect(200);
    expect(anonymous.status).toBe(200);
    expect(lines().find((l) => l.req.ip === '192.0.2.1').user_id).toBeUndefined();

    const text = h.logs.join('\n');
    expect(text).not.toContain(user.email);
    const sid = decodeURIComponent(user.cookie.split('=')[1]).slice(2).split('.')[0];
    expect(text).not.toContain(sid);
  });
});

describe('production reset cookie', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('sqlite', {
      env: { NODE_ENV: 'production', SESSION_SECRET: 'p'.repeat(40), MFA_ENCRYPTION_KEY: 'k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', APP_BASE_URL: 'https://inkwell.test', TRUST_PROXY: '1' },
    });
  });
  afterAll(() => h.close());

  it('is __Host-inkwell_reset (Secure, Path=/), and one without the prefix is not read', async () => {
    const user = await registeredUser(h, 'prodreset');
    const token = await requestResetToken(h, user.email);
    const first = await h.request().get(`/reset-password?token=${token}`).set('X-Forwarded-Proto', 'https').expect(303);
    const cookie = first.headers['set-cookie'][0];
    expect(cookie).toMatch(new RegExp(`^__Host-inkwell_reset=${token};`));
    expect(cookie).toMatch(/; Path=\/;/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).not.toMatch(/Domain=/i);

    const planted = await h.request().post('/reset-password').set('X-Forwarded-Proto', 'https')
      .set('Cookie', `inkwell_reset=${token}`).type('form').send({ new_password: 'planted by a sibling site' });
    expect(planted.status).toBe(400);
    const twice = await h.request().post('/reset-password').set('X-Forwarded-Proto', 'https')
      .set('Cookie', `__Host-inkwell_reset=${token}; __Host-inkwell_reset=${token}`).type('form').send({ new_password: 'sent twice over' });
    expect(twice.status).toBe(400);
    const done = await h.request().post('/reset-password').set('X-Forwarded-Proto', 'https')
      .set('Cookie', `__Host-inkwell_reset=${token}`).type('form').send({ new_password: 'the real new one' });
    expect(done.status).toBe(303);
    expect(done.headers['set-cookie'][0]).toMatch(/^__Host-inkwell_reset=;.*Path=\/;/);
  });
});
