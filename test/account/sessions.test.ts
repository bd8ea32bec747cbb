// Where you're signed in: sessions listed by opaque ids, ended one by one or all but this one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecurityEvent, Session } from '../../src/db/entities.ts';
import { hashSessionId, SESSION_IDLE_MS, SESSION_SEEN_EVERY_MS } from '../../src/db/session-store.ts';
import { dialects, registeredUser, startHarness, STRONG_PASSWORD, type Harness } from '../support/harness.ts';
import { until } from '../support/net.ts';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

describe.each(dialects())('sessions on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { TRUST_PROXY: '1' } });
  });
  afterAll(() => h.close());

  const nextName = () => `sess${++n}`;
  async function logIn(email: string, userAgent: string, ip: string) {
    const agent = h.request();
    const res = await agent
      .post('/api/auth/login')
      .set('User-Agent', userAgent)
      .set('X-Forwarded-For', ip)
      .send({ email, password: STRONG_PASSWORD })
      .expect(200);
    const cookie = String(res.headers['set-cookie']?.[0] ?? '').split(';')[0];
    return { agent, cookie, sid: sessionIdOf(cookie) };
  }
  const sessionsOf = async (agent: ReturnType<Harness['request']>) => (await agent.get('/api/users/me/sessions').expect(200)).body.sessions;

  it('each device sees every session, its own marked, and can sign another out', async () => {
    const user = await registeredUser(h, nextName());
    const laptop = await logIn(user.email, FIREFOX, '203.0.113.77');
    const phone = await logIn(user.email, SAFARI, '2001:db8:85a3::8a2e:370:7334');

    const fromLaptop = await sessionsOf(laptop.agent);
    const fromPhone = await sessionsOf(phone.agent);
    expect(fromLaptop).toHaveLength(3);
    expect(fromLaptop.map((s: { id: string }) => s.id).sort()).toEqual(fromPhone.map((s: { id: string }) => s.id).sort());
    const laptopSelf = fromLaptop.find((s: { current: boolean }) => s.current);
    expect(laptopSelf).toMatchObject({ device: 'Firefox on Linux', ip: '203.0.113.x' });
    const phoneSelf = fromPhone.find((s: { current: boolean }) => s.current);
    expect(phoneSelf).toMatchObject({ device: 'Safari on iOS', ip: '2001:db8:85a3::/48' });
    expect(fromLaptop.filter((s: { current: boolean }) => s.current)).toHaveLength(1);

    await laptop.agent.delete(`/api/users/me/sessions/${phoneSelf.id}`).expect(204);
    await phone.agent.get('/api/users/me').expect(401);
    await laptop.agent.get('/api/users/me').expect(200);
    expect(await sessionsOf(laptop.agent)).toHaveLength(2);
  });

  it("another user's session id, or a made-up one, is not found and nothing ends", async () => {
    const alice = await registeredUser(h, nextName());
    const bob = await registeredUser(h, nextName());
    const [bobSession] = await sessionsOf(bob.agent);
    await alice.agent.delete(`/api/users/me/sessions/${bobSession.id}`).expect(404);
    await alice.agent.post(`/account/sessions/${bobSession.id}/revoke`).type('form').expect(404);
    await alice.agent.delete('/api/users/me/sessions/not-a-real-id').expect(404);
    await bob.agent.get('/api/users/me').expect(200);
  });

  it('"sign out everywhere else" leaves only the current session, for plain forms and htmx', async () => {
    const user = await registeredUser(h, nextName());
    const a = await logIn(user.email, FIREFOX, '198.51.100.1');
    const b = await logIn(user.email, SAFARI, '198.51.100.2');
    const plain = await user.agent.post('/account/sessions/revoke-others').type('form');
    expect(plain.status).toBe(303);
    expect(plain.headers.location).toBe('/account');
    for (const other of [a, b]) await other.agent.get('/api/users/me').expect(401);
    const left = await sessionsOf(user.agent);
    expect(left).toHaveLength(1);
    expect(left[0].current).toBe(true);

    const c = await logIn(user.email, FIREFOX, '198.51.100.3');
    const htmx = await user.agent.post('/account/sessions/revoke-others').set('HX-Request', 'true').type('form');
    expect(htmx.status).toBe(200);
    expect(htmx.text).toContain('id="sessions"');
    expect(htmx.text).not.toContain('<html');
    expect(htmx.text).toContain('Every other session has been signed out.');
    await c.agent.get('/api/users/me').expect(401);
  });

  it('the account page lists sessions with "This device" and a sign-out button for the others', async () => {
    const user = await registeredUser(h, nextName());
    const other = await logIn(user.email, SAFARI, '192.0.2.10');
    const [otherSession] = (await sessionsOf(other.agent)).filter((s: { current: boolean }) => s.current);
    const page = await user.agent.get('/account').expect(200);
    expect(page.text).toContain('This device');
    expect(page.text).toContain('Safari on iOS');
    expect(page.text).toContain('192.0.2.x');
    expect(page.text).toContain(`action="/account/sessions/${otherSession.id}/revoke"`);
    expect(page.headers['cache-control']).toContain('no-store');

    const res = await user.agent.post(`/account/sessions/${otherSession.id}/revoke`).set('HX-Request', 'true').type('form');
    expect(res.status).toBe(200);
    expect(res.text).toContain('That session has been signed out.');
    expect(res.text).not.toContain('Safari on iOS');
    await other.agent.get('/api/users/me').expect(401);
  });

  it('no session id or cookie value appears in any page or API answer', async () => {
    const user = await registeredUser(h, nextName());
    const other = await logIn(user.email, FIREFOX, '203.0.113.9');
    const secrets = [user.cookie, other.cookie].flatMap((cookie) => {
      const sid = sessionIdOf(cookie);
      return [sid, hashSessionId(sid), cookie.split('=')[1]];
    });
    const answers = [
      (await user.agent.get('/account')).text,
      (await user.agent.get('/api/users/me/sessions')).text,
      (await user.agent.get('/api/users/me/events')).text,
      (await user.agent.get('/api/users/me')).text,
      (await user.agent.post('/account/sessions/revoke-others').set('HX-Request', 'true').type('form')).text,
    ];
    for (const answer of answers) for (const secret of secrets) expect(answer).not.toContain(secret);
  });

  it('the table holds a hash of the session id, never the id itself', async () => {
    const user = await registeredUser(h, nextName());
    const rows = await h.orm.em.fork().find(Session, { user: user.id });
    const sid = sessionIdOf(user.cookie);
    expect(rows.map((r) => r.sidHash)).toEqual([hashSessionId(sid)]);
    expect(JSON.stringify(rows)).not.toContain(sid);
  });

  it('a page view writes nothing to the session row, except "last active" once per interval', async () => {
    const user = await registeredUser(h, nextName());
    await user.agent.get('/account').expect(200);
    const writes = () => h.queries.filter((sql) => /^\[query\] (update|insert|delete)\b.*?[`"]session[`"]/i.test(sql));
    const before = writes().length;
    await user.agent.get('/account').expect(200);
    await user.agent.get('/api/users/me').expect(200);
    expect(writes().length).toBe(before);

    const stale = new Date(Date.now() - SESSION_SEEN_EVERY_MS - 60_000);
    const sessionWritesBefore = writes().length;
    await h.orm.em.fork().nativeUpdate(Session, { user: user.id }, { lastSeenAt: stale });
    await user.agent.get('/account').expect(200);
    await user.agent.get('/account').expect(200);
    expect(writes().length).toBe(sessionWritesBefore + 2); // our backdating update, then exactly one refresh
    const [row] = await h.orm.em.fork().find(Session, { user: user.id });
    expect(row.lastSeenAt.getTime()).toBeGreaterThan(stale.getTime());
  });

  it('a session unused for a week ends, inside its two weeks, and is pruned', async () => {
    const user = await registeredUser(h, nextName());
    await h.orm.em.fork().nativeUpdate(Session, { user: user.id }, { lastSeenAt: new Date(Date.now() - SESSION_IDLE_MS - 1000) });
    await user.agent.get('/api/users/me').expect(401);
    expect(await h.sessions.pruneExpired()).toBeGreaterThanOrEqual(1);
    expect(await h.orm.em.fork().count(Session, { user: user.id })).toBe(0);
  });

  it('signing a session out remotely is recorded as activity', async () => {
    const user = await registeredUser(h, nextName());
    const other = await logIn(user.email, SAFARI, '192.0.2.99');
    const [otherSession] = (await sessionsOf(other.agent)).filter((s: { current: boolean }) => s.current);
    await user.agent.delete(`/api/users/me/sessions/${otherSession.id}`).expect(204);
    await until(async () => (await h.orm.em.fork().count(SecurityEvent, { user: user.id, kind: 'session_revoked' })) === 1, 'the event');
  });
});

/** The session id inside express-session's signed cookie value (`s:<id>.<signature>`). */
function sessionIdOf(cookie: string): string {
  const value = decodeURIComponent(cookie.split('=')[1] ?? '');
  return value.slice(2, value.lastIndexOf('.'));
}
