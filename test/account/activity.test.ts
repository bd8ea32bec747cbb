// Security activity: every kind recorded with no secret, shown newest first, pruned after 90 days;
// a sign-in from a new device and network emails the owner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_RETENTION_MS } from '../../src/accounts/activity.ts';
import { SecurityEvent } from '../../src/db/entities.ts';
import { dialects, registeredUser, requestResetToken, startHarness, STRONG_PASSWORD, type Harness } from '../support/harness.ts';
import { until } from '../support/net.ts';
import { recipients } from '../support/smtp.ts';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

describe.each(dialects())('security activity on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { TRUST_PROXY: '1' } });
  });
  afterAll(() => h.close());

  const nextName = () => `act${++n}`;
  const login = (email: string, password: string, userAgent: string, ip: string) =>
    h.request().post('/api/auth/login').set('User-Agent', userAgent).set('X-Forwarded-For', ip).send({ email, password });
  const eventsOf = (userId: number) => h.orm.em.fork().find(SecurityEvent, { user: userId }, { orderBy: { id: 'asc' } });
  const kindsOf = async (userId: number) => (await eventsOf(userId)).map((e) => e.kind);
  const newSignInNotices = (email: string) =>
    h.sink.messages.filter((m) => recipients(m).includes(email) && /New sign-in/.test(m.subject ?? ''));

  it('records each kind of event, with a truncated address and a device, and no secret', async () => {
    const user = await registeredUser(h, nextName());
    await login(user.email, 'wrong password', FIREFOX, '203.0.113.50').expect(401);
    const ok = await login(user.email, user.password, FIREFOX, '203.0.113.50').expect(200);
    const agent = h.request();
    const cookie = String(ok.headers['set-cookie']?.[0]).split(';')[0];
    await agent.patch('/api/users/me/password').set('Cookie', cookie).set('User-Agent', FIREFOX).set('X-Forwarded-For', '203.0.113.50')
      .send({ current_password: user.password, new_password: 'a new one for the log' }).expect(200);
    await h.sink.waitFor((m) => recipients(m).includes(user.email) && /changed/.test(m.subject ?? ''));
    const token = await requestResetToken(h, user.email);
    await h.request().post('/api/users/reset-password').send({ token, new_password: 'and reset once more' }).expect(200);
    const again = await login(user.email, 'and reset once more', FIREFOX, '203.0.113.50').expect(200);
    const other = await login(user.email, 'and reset once more', SAFARI, '198.51.100.7').expect(200);
    const otherCookie = String(other.headers['set-cookie']?.[0]).split(';')[0];
    const me = String(again.headers['set-cookie']?.[0]).split(';')[0];
    const [otherSession] = (await h.request().get('/api/users/me/sessions').set('Cookie', otherCookie)).body.sessions
      .filter((s: { current: boolean }) => s.current);
    await h.request().delete(`/api/users/me/sessions/${otherSession.id}`).set('Cookie', me).expect(204);

    const expected = ['sign_in_failed', 'sign_in', 'password_changed', 'password_reset_requested', 'password_reset_completed', 'session_revoked'];
    await until(async () => (await kindsOf(user.id)).includes('session_revoked'), 'every event');
    const kinds = await kindsOf(user.id);
    for (const kind of expected) expect(kinds).toContain(kind);

    const rows = await eventsOf(user.id);
    const stored = JSON.stringify(rows);
    for (const secret of [user.password, 'a new one for the log', 'and reset once more', token, '203.0.113.50', '198.51.100.7', user.email]) {
      expect(stored).not.toContain(secret);
    }
    // The first sign-in is the sign-up's confirmation (the test client); then Firefox's, truncated.
    const signIn = rows.find((r) => r.kind === 'sign_in' && r.device === 'Firefox on Linux')!;
    expect(signIn).toMatchObject({ ip: '203.0.113.x', device: 'Firefox on Linux' });

    const listed = (await h.request().get('/api/users/me/events').set('Cookie', me).expect(200)).body.events;
    expect(listed[0].kind).toBe('session_revoked'); // newest first
    expect(listed.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(expected));
    const page = await h.request().get('/account').set('Cookie', me).expect(200);
    expect(page.text).toContain('Password changed from Firefox on Linux, 203.0.113.x,');
    expect(page.text).toContain('Another session signed out');
  });

  it('failed sign-ins add up in one row per hour; an unknown email records nothing', async () => {
    const user = await registeredUser(h, nextName());
    for (let i = 0; i < 3; i++) await login(user.email, `wrong ${i}`, FIREFOX, '192.0.2.1').expect(401);
    await until(async () => (await eventsOf(user.id)).some((e) => e.kind === 'sign_in_failed' && e.count === 3), 'three failures counted');
    expect((await eventsOf(user.id)).filter((e) => e.kind === 'sign_in_failed')).toHaveLength(1);

    const total = await h.orm.em.fork().count(SecurityEvent, {});
    await login('nobody-here@example.com', 'whatever it is', FIREFOX, '192.0.2.1').expect(401);
    await h.tasks.drain(10_000);
    expect(await h.orm.em.fork().count(SecurityEvent, {})).toBe(total);
  });

  it('a sign-in from a new device and network sends one notice; a known one sends none', async () => {
    // Confirming the sign-up was the first sign-in: the test client's device, on record, with no notice.
    const user = await registeredUser(h, nextName());
    const signIns = async () => (await kindsOf(user.id)).filter((k) => k === 'sign_in').length;
    await until(async () => (await signIns()) === 1, 'the confirmation to be on record');
    await h.tasks.drain();
    expect(newSignInNotices(user.email)).toHaveLength(0);

    await login(user.email, user.password, SAFARI, '198.51.100.20').expect(200);
    const notice = await h.sink.waitFor((m) => recipients(m).includes(user.email) && /New sign-in/.test(m.subject ?? ''));
    expect(notice.text).toContain('Safari on iOS');
    expect(notice.text).toContain('198.51.100.x');
    expect(notice.text).not.toContain('198.51.100.20');
    expect(notice.text).toContain(`${h.baseUrl}/account/secure?token=`);
    expect(notice.html).toContain("This wasn't me");

    await login(user.email, user.password, SAFARI, '198.51.100.99').expect(200); // same device, same /24: known
    await until(async () => (await signIns()) === 3, 'three sign-ins');
    await h.tasks.drain();
    expect(newSignInNotices(user.email)).toHaveLength(1);
  });

  it('a User-Agent cannot write text into the owner\'s activity or emails: only known names, else "Unknown device"', async () => {
    const user = await registeredUser(h, nextName());
    const forged = 'Inkwell security: your account is locked, call 555-0100/1 (x)';
    await login(user.email, 'a wrong guess', forged, '203.0.113.77').expect(401);
    await login(user.email, user.password, forged, '203.0.113.77').expect(200);
    await h.tasks.drain();
    const page = await user.agent.get('/account').expect(200);
    const events = (await user.agent.get('/api/users/me/events').expect(200)).body.events as { kind: string; device: string; ip: string }[];
    const notice = await h.sink.waitFor((m) => recipients(m).includes(user.email) && /New sign-in/.test(m.subject ?? ''));
    for (const text of [page.text, JSON.stringify(events), notice.text ?? '', notice.html || '']) {
      expect(text).not.toContain('call 555-0100');
    }
    expect(events.filter((e) => e.ip === '203.0.113.x').map((e) => [e.kind, e.device])).toEqual([['sign_in', 'Unknown device'], ['sign_in_failed', 'Unknown device']]);
    expect(notice.text).toContain('Unknown device');
    // A real browser still reads as one, and half-known agents say only what is known.
    await login(user.email, user.password, FIREFOX, '203.0.113.77').expect(200);
    await login(user.email, user.password, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Inkwell notice: call us', '203.0.113.77').expect(200);
    await h.tasks.drain();
    const devices = ((await user.agent.get('/api/users/me/events').expect(200)).body.events as { device: string }[]).map((e) => e.device);
    expect(devices.slice(0, 2)).toEqual(['Windows', 'Firefox on Linux']);
  });

  it('a dormant account is told of a new sign-in: only the sign-up\'s own first sign-in is the baseline', async () => {
    const user = await registeredUser(h, nextName());
    await until(async () => (await kindsOf(user.id)).includes('sign_in'), 'the confirmation to be on record');
    await h.tasks.drain();
    // A hundred days without a sign-in: the confirmation's record has aged out of the retention window.
    await h.orm.em.fork().nativeUpdate(SecurityEvent, { user: user.id }, { at: new Date(Date.now() - 100 * 24 * 3600_000) });
    await h.accounts.pruneOldActivity();
    expect(await eventsOf(user.id)).toEqual([]);
    await login(user.email, user.password, SAFARI, '198.51.100.40').expect(200);
    const notice = await h.sink.waitFor((m) => recipients(m).includes(user.email) && /New sign-in/.test(m.subject ?? ''));
    expect(notice.text).toContain('Safari on iOS');
  });

  it('events older than 90 days are pruned, newer ones kept', async () => {
    const user = await registeredUser(h, nextName());
    await login(user.email, user.password, FIREFOX, '203.0.113.1').expect(200);
    // The sign-up's confirmation, then this login.
    await until(async () => (await eventsOf(user.id)).length === 2, 'two events');
    const [old] = await eventsOf(user.id);
    await h.orm.em.fork().nativeUpdate(SecurityEvent, { id: old.id }, { at: new Date(Date.now() - EVENT_RETENTION_MS - 1000) });
    expect(await h.accounts.pruneOldActivity()).toBeGreaterThanOrEqual(1);
    expect((await eventsOf(user.id)).map((e) => e.id)).not.toContain(old.id);
    expect(await eventsOf(user.id)).toHaveLength(1);
  });
});
