// Two-step verification through the API and the pages: on only after a correct code, every password
// sign-in stops at the second step, codes are single use, recovery codes are consumed once, and the
// per-account limits hold with RATE_LIMITS=off (the harness's setting).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PendingSignIn, RecoveryCode, TwoStep } from '../../src/db/entities.ts';
import { dialects, mailArriving, mailSeen, registeredUser, requestResetToken, startHarness, type Harness } from '../support/harness.ts';
import { withClient } from '../support/postgres.ts';
import { until } from '../support/net.ts';
import { codeFor, turnOnTwoStep } from './support.ts';
import { recipients } from '../support/smtp.ts';

describe.each(dialects())('two-step verification on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  /** A user with two-step on, and a fresh (signed-out) agent that has passed the password. */
  async function twoStepUser() {
    const user = await registeredUser(h, `two${++n}`);
    const { secret, recoveryCodes } = await turnOnTwoStep(user.agent, user.password);
    return { ...user, secret, recoveryCodes };
  }
  async function passwordOnly(user: { email: string; password: string }) {
    const agent = h.request();
    const res = await agent.post('/api/auth/login').send({ email: user.email, password: user.password });
    expect(res.status).toBe(200);
    return { agent, res };
  }

  it('turns on only after a correct code, answers ten recovery codes, and ends the other sessions', async () => {
    const user = await registeredUser(h, `two${++n}`);
    const other = (await passwordOnly(user)).agent;
    const setup = await user.agent.post('/api/users/me/two-step').send({ current_password: user.password });
    expect(setup.status).toBe(200);
    expect(setup.body.otpauth_uri).toMatch(/^otpauth:\/\/totp\/Inkwell:.*secret=/);
    const wrong = await user.agent.post('/api/users/me/two-step/confirm').send({ code: '000000' === codeFor(setup.body.secret) ? '111111' : '000000' });
    expect(wrong.status).toBe(422);
    expect((await user.agent.get('/api/users/me')).body.user.two_step).toBe(false);
    const on = await user.agent.post('/api/users/me/two-step/confirm').send({ code: codeFor(setup.body.secret) });
    expect(on.status).toBe(200);
    expect(on.body.recovery_codes).toHaveLength(10);
    expect(on.body.recovery_codes[0]).toMatch(/^([0-9a-z]{4}-){5}[0-9a-z]{4}$/);
    const me = await user.agent.get('/api/users/me').expect(200);
    expect(me.body.user).toMatchObject({ two_step: true, recovery_codes_left: 10 });
    await other.get('/api/users/me').expect(401);
  });

  it('a password alone leaves the session pending: no user, 401 for JSON, 303 to /login/two-step for pages', async () => {
    const user = await twoStepUser();
    const { agent, res } = await passwordOnly(user);
    expect(res.body).toEqual({ second_step: { methods: ['totp', 'recovery_code'] } });
    await agent.get('/api/users/me').expect(401);
    const page = await agent.get('/account');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/login/two-step?next=%2Faccount');

    const browser = h.request();
    const login = await browser.post('/login').type('form').send({ email: user.email, password: user.password, next: '/posts/new' });
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/login/two-step?next=%2Fposts%2Fnew');
    const form = await browser.get('/login/two-step?next=%2Fposts%2Fnew').expect(200);
    expect(form.text).toMatch(/autocomplete="one-time-code"/);
    expect(form.text).toMatch(/inputmode="numeric"/);
    const done = await browser.post('/login/two-step').type('form').send({ code: codeFor(user.secret, 1), next: '/posts/new' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/posts/new');
    await browser.get('/account').expect(200);
  });

  it('the code completes the sign-in under a new session id; a code is accepted once, the enrolment code never again', async () => {
    const user = await twoStepUser();
    // The code that turned two-step on cannot sign in.
    const first = await passwordOnly(user);
    const enrolment = await first.agent.post('/api/auth/second-step').send({ code: codeFor(user.secret) });
    expect(enrolment.status).toBe(401);
    expect(enrolment.body.error.code).toBe('invalid_code');

    const cookieBefore = String(first.res.headers['set-cookie']);
    const next = codeFor(user.secret, 1);
    const ok = await first.agent.post('/api/auth/second-step').send({ code: next });
    expect(ok.status).toBe(200);
    expect(ok.body.user.email).toBe(user.email);
    expect(String(ok.headers['set-cookie'])).not.toBe(cookieBefore);
    await first.agent.get('/api/users/me').expect(200);

    // The same code again, in another sign-in: refused (replay).
    const second = await passwordOnly(user);
    expect((await second.agent.post('/api/auth/second-step').send({ code: next })).status).toBe(401);
  });

  it('a recovery code signs in once, the owner is emailed how many are left, and two concurrent uses: one wins', async () => {
    const user = await twoStepUser();
    const seen = mailSeen(h);
    const a = await passwordOnly(user);
    const used = await a.agent.post('/api/auth/second-step').send({ recovery_code: user.recoveryCodes[0].toUpperCase().replace(/-/g, ' ') });
    expect(used.status).toBe(200);
    const mail = await mailArriving(h, seen, (m) => m.to.includes(user.email) && /recovery code/.test(m.subject) && /was used/.test(m.subject));
    expect(mail.text).toContain('You have 9 left');
    expect((await a.agent.get('/api/users/me')).body.user.recovery_codes_left).toBe(9);
    const again = await passwordOnly(user);
    expect((await again.agent.post('/api/auth/second-step').send({ recovery_code: user.recoveryCodes[0] })).status).toBe(401);

    const [x, y] = await Promise.all([passwordOnly(user), passwordOnly(user)]);
    const answers = await Promise.all([x, y].map((s) => s.agent.post('/api/auth/second-step').send({ recovery_code: user.recoveryCodes[1] })));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(await h.orm.em.fork().count(RecoveryCode, { user: user.id, usedAt: null })).toBe(8);
  });

  // The race made certain: both uses are held at the row lock until both have read the code as unused,
  // so a read-then-write use lets both in; only the conditional UPDATE (used_at is null, re-checked
  // after the lock) lets exactly one in.
  it.runIf(dialect === 'postgres')('two uses of one recovery code that meet at the row: exactly one wins', async () => {
    const user = await twoStepUser();
    const [x, y] = await Promise.all([passwordOnly(user), passwordOnly(user)]);
    await withClient(h.db.url, async (c) => {
      await c.query('begin');
      await c.query('select id from recovery_code where user_id = $1 for update', [user.id]);
      const answers = Promise.all([x, y].map((s) => s.agent.post('/api/auth/second-step').send({ recovery_code: user.recoveryCodes[3] })));
      const waiting = async () => {
        const { rows } = await c.query("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%recovery_code%'");
        // Inside a transaction pg_stat_activity is a snapshot: take a fresh one each time.
        await c.query('select pg_stat_clear_snapshot()');
        return rows[0].n === 2;
      };
      await until(waiting, 'both uses waiting at the row lock');
      await c.query('commit');
      expect((await answers).map((r) => r.status).sort()).toEqual([200, 401]);
    });
  });

  it('five wrong codes end the pending sign-in; ten in a row lock the second step for 15 minutes, even with RATE_LIMITS=off', async () => {
    const user = await twoStepUser();
    const wrong = codeFor(user.secret, 5); // a real code, but 2.5 minutes away: never accepted now
    const seen = mailSeen(h);
    const pending = await passwordOnly(user);
    for (let i = 0; i < 5; i++) {
      expect((await pending.agent.post('/api/auth/second-step').send({ code: wrong })).body.error.code).toBe('invalid_code');
    }
    const gone = await pending.agent.post('/api/auth/second-step').send({ code: codeFor(user.secret, 1) });
    expect(gone.body.error.code).toBe('no_pending_sign_in');
    expect(await h.orm.em.fork().count(PendingSignIn, { user: user.id })).toBe(0);
    // The owner hears of it once, however many wrong codes follow within the hour.
    await mailArriving(h, seen, (m) => m.to.includes(user.email) && /wrong two-step code/.test(m.subject));

    const more = await passwordOnly(user);
    for (let i = 0; i < 4; i++) await more.agent.post('/api/auth/second-step').send({ code: wrong });
    const third = await passwordOnly(user);
    expect((await third.agent.post('/api/auth/second-step').send({ code: wrong })).status).toBe(401);
    // The eleventh try, even with the right code, waits out the lock.
    const locked = await third.agent.post('/api/auth/second-step').send({ code: codeFor(user.secret, 1) });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(14 * 60);
    // Backdating the lock lets the right code in.
    await h.orm.em.fork().nativeUpdate(TwoStep, { user: user.id }, { lockedUntil: new Date(Date.now() - 1000) });
    expect((await third.agent.post('/api/auth/second-step').send({ code: codeFor(user.secret, 1) })).status).toBe(200);
    await h.tasks.drain();
    // This user's only: an earlier test's notice to another user may arrive late on a busy machine.
    const notices = h.sink.messages.slice(seen).filter((m) => recipients(m).includes(user.email) && String(m.subject).includes('wrong two-step code'));
    expect(notices).toHaveLength(1);
  });

  it('turning off and new codes need the password and a code (or a recent confirmation); recovery codes never confirm', async () => {
    const user = await twoStepUser();
    const signedIn = await passwordOnly(user);
    await signedIn.agent.post('/api/auth/second-step').send({ recovery_code: user.recoveryCodes[0] }).expect(200);
    // Signed in with a recovery code: not a confirmation.
    expect((await signedIn.agent.post('/api/users/me/recovery-codes').send({})).status).toBe(401);
    const noCode = await signedIn.agent.post('/api/users/me/recovery-codes').send({ current_password: user.password });
    expect(noCode.status).toBe(422);
    expect(noCode.body.error.fields.code).toBeDefined();
    expect((await signedIn.agent.post('/api/auth/confirm').send({ password: user.password, code: user.recoveryCodes[1] })).status).toBe(422);
    await signedIn.agent.post('/api/auth/confirm').send({ password: user.password, code: codeFor(user.secret, 1) }).expect(204);
    const renewed = await signedIn.agent.post('/api/users/me/recovery-codes').send({});
    expect(renewed.status).toBe(200);
    expect(renewed.body.recovery_codes).toHaveLength(10);
    // The old codes are dead.
    const old = await passwordOnly(user);
    expect((await old.agent.post('/api/auth/second-step').send({ recovery_code: user.recoveryCodes[2] })).status).toBe(401);
    await signedIn.agent.delete('/api/users/me/two-step').send({}).expect(204);
    expect((await passwordOnly(user)).res.body.user.email).toBe(user.email);
  });

  it('keeps the secret and the recovery codes out of the database in the clear and out of every log line', async () => {
    const user = await twoStepUser();
    await h.tasks.drain();
    const needles = [user.secret, ...user.recoveryCodes, ...user.recoveryCodes.map((c) => c.replace(/-/g, ''))];
    const row = await h.orm.em.fork().findOneOrFail(TwoStep, { user: user.id });
    expect(row.secret).toMatch(/^[\w-]+:[\w-]+:[\w-]+:[\w-]+$/);
    let dump: string;
    if (h.db.sqliteFile) {
      dump = readFileSync(h.db.sqliteFile, 'latin1') + (() => { try { return readFileSync(`${h.db.sqliteFile}-wal`, 'latin1'); } catch { return ''; } })();
    } else {
      dump = await withClient(h.db.url, async (c) => {
        const tables = ['two_step', 'recovery_code', 'session', 'job', 'security_event', 'pending_sign_in'];
        const rows = await Promise.all(tables.map((t) => c.query(`select * from ${t}`)));
        return JSON.stringify(rows.map((r) => r.rows));
      });
    }
    const secretBytes = Buffer.from(user.secret, 'ascii');
    for (const needle of needles) {
      expect(dump.includes(needle)).toBe(false);
      expect(h.logs.some((line) => line.includes(needle))).toBe(false);
    }
    expect(dump.includes(secretBytes.toString('latin1'))).toBe(false);
  });
});

describe.each(dialects())('a reset keeps the second step on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  it('asks for the code without using up the link, refuses a wrong one, and leaves two-step on', async () => {
    const user = await registeredUser(h, 'resetter');
    const { secret } = await turnOnTwoStep(user.agent, user.password);
    await h.tasks.drain(); // the "two-step is on" notice goes out first
    const token = await requestResetToken(h, user.email);
    const without = await h.request().post('/api/users/reset-password').send({ token, new_password: 'a brand new password' });
    expect(without.status).toBe(401);
    expect(without.body.error.code).toBe('second_step_required');
    const wrong = await h.request().post('/api/users/reset-password').send({ token, new_password: 'a brand new password', code: codeFor(secret, 6) });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_code');
    // Nothing changed: the old password still gets to the second step, and the signed-in session lives.
    await user.agent.get('/api/users/me').expect(200);
    const right = await h.request().post('/api/users/reset-password').send({ token, new_password: 'a brand new password', code: codeFor(secret, 1) });
    expect(right.status).toBe(200);
    await user.agent.get('/api/users/me').expect(401);
    const login = await h.request().post('/api/auth/login').send({ email: user.email, password: 'a brand new password' });
    expect(login.body).toEqual({ second_step: { methods: ['totp', 'recovery_code'] } });
  });

  it('the reset page shows a code field for a two-step account', async () => {
    const user = await registeredUser(h, 'pagereset');
    await turnOnTwoStep(user.agent, user.password);
    await h.tasks.drain();
    const token = await requestResetToken(h, user.email);
    const browser = h.request();
    const moved = await browser.get(`/reset-password?token=${token}`);
    const page = await browser.get(moved.headers.location ?? '/reset-password');
    expect(page.text).toMatch(/name="code"[^>]*autocomplete="one-time-code"|autocomplete="one-time-code"[^>]*/);
  });
});
