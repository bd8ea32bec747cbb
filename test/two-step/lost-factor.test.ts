// Lost factor: with no recovery codes left, the password plus an emailed link starts removing two-step
// verification; it finishes 72 hours later (backdated rows stand in for the wait) unless a full sign-in
// or "This wasn't me" cancels it. "This wasn't me" itself never turns two-step off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecoveryCode, SecurityEvent, Session, TwoStep } from '../../src/db/entities.ts';
import { dialects, mailArriving, mailSeen, registeredUser, startHarness, type Harness, type SentMail } from '../support/harness.ts';
import { codeFor, turnOnTwoStep } from './support.ts';

const HOUR = 3600_000;

describe.each(dialects())('the lost-factor removal on %s', (dialect) => {
  let h: Harness;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  const twoStepRow = (userId: number) => h.orm.em.fork().findOne(TwoStep, { user: userId });
  const events = async (userId: number) => (await h.orm.em.fork().find(SecurityEvent, { user: userId })).map((e) => e.kind);
  const tokenIn = (mail: SentMail, path: string) => new URL(new RegExp(`https?://\\S+${path}\\?token=\\S+`).exec(mail.text)![0]).searchParams.get('token')!;

  /** A two-step user whose recovery codes are all used, still signed in on `agent`. */
  async function withoutCodes() {
    const user = await registeredUser(h, `lost${++n}`);
    const { secret } = await turnOnTwoStep(user.agent, user.password);
    await h.orm.em.fork().nativeUpdate(RecoveryCode, { user: user.id }, { usedAt: new Date() });
    return { ...user, secret };
  }

  /** Password, "I can't use my authenticator", the emailed link, the button: the removal is due. */
  async function startRemoval(user: { email: string; password: string }) {
    const browser = h.request();
    await browser.post('/login').type('form').send({ email: user.email, password: user.password }).expect(303);
    const page = await browser.get('/login/two-step').expect(200);
    expect(page.text).toContain("I can't use my authenticator");
    let seen = mailSeen(h);
    await browser.post('/login/two-step/lost').type('form').send({}).expect(202);
    const link = await mailArriving(h, seen, (m) => m.to.includes(user.email) && /^Remove two-step/.test(m.subject));
    const token = tokenIn(link, '/login/two-step/remove');
    const opener = h.request();
    await opener.get(`/login/two-step/remove?token=${token}`).expect(303);
    seen = mailSeen(h);
    const started = await opener.post('/login/two-step/remove').type('form').send({ token }).expect(200);
    expect(started.text).toMatch(/will be removed on/);
    const notice = await mailArriving(h, seen, (m) => m.to.includes(user.email) && /in 72 hours/.test(m.subject));
    // The link works once.
    await h.request().post('/login/two-step/remove').type('form').send({ token }).expect(400);
    return { notice };
  }

  it('finishes 72 hours later with a warning a day before: two-step off, codes gone, every session ended', async () => {
    const user = await withoutCodes();
    const before = Date.now();
    await startRemoval(user);
    const due = new Date((await twoStepRow(user.id))!.removalDueAt!).getTime();
    expect(due).toBeGreaterThanOrEqual(before + 72 * HOUR - 1000);
    expect(due).toBeLessThanOrEqual(Date.now() + 72 * HOUR + 1000);
    await h.housekeeping();
    expect((await twoStepRow(user.id))!.enabledAt).not.toBeNull();

    // A day before the end: a warning (housekeeping may run any number of times).
    await h.orm.em.fork().nativeUpdate(TwoStep, { user: user.id }, { removalDueAt: new Date(Date.now() + 23 * HOUR) });
    let seen = mailSeen(h);
    await h.housekeeping();
    await h.housekeeping();
    await mailArriving(h, seen, (m) => m.to.includes(user.email) && /in 24 hours/.test(m.subject));
    expect((await twoStepRow(user.id))!.enabledAt).not.toBeNull();

    expect(await h.orm.em.fork().count(Session, { user: user.id })).toBeGreaterThan(0);
    await h.orm.em.fork().nativeUpdate(TwoStep, { user: user.id }, { removalDueAt: new Date(Date.now() - 1000) });
    seen = mailSeen(h);
    await h.housekeeping();
    expect(await twoStepRow(user.id)).toBeNull();
    expect(await h.orm.em.fork().count(RecoveryCode, { user: user.id })).toBe(0);
    expect(await h.orm.em.fork().count(Session, { user: user.id })).toBe(0);
    await user.agent.get('/api/users/me').expect(401);
    await mailArriving(h, seen, (m) => m.to.includes(user.email) && /was removed/.test(m.subject));
    expect(await events(user.id)).toEqual(expect.arrayContaining(['two_step_removal_started', 'two_step_removal_finished']));
    // The password alone signs in now.
    const login = await h.request().post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
    expect(login.body.user.email).toBe(user.email);
  });

  it('a full sign-in cancels it, and it never finishes', async () => {
    const user = await withoutCodes();
    await startRemoval(user);
    const agent = h.request();
    await agent.post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
    const seen = mailSeen(h);
    await agent.post('/api/auth/second-step').send({ code: codeFor(user.secret, 1) }).expect(200);
    expect((await twoStepRow(user.id))!.removalDueAt).toBeNull();
    await mailArriving(h, seen, (m) => m.to.includes(user.email) && /cancelled/.test(m.subject));
    expect(await events(user.id)).toContain('two_step_removal_cancelled');
    await h.housekeeping();
    expect((await twoStepRow(user.id))!.enabledAt).not.toBeNull();
  });

  it('"This wasn\'t me" cancels a running removal and never turns two-step off', async () => {
    const user = await withoutCodes();
    const { notice } = await startRemoval(user);
    await h.request().post('/account/secure').type('form').send({ token: tokenIn(notice, '/account/secure') }).expect(303);
    const row = (await twoStepRow(user.id))!;
    expect(row.enabledAt).not.toBeNull();
    expect(row.removalDueAt).toBeNull();
    expect(await events(user.id)).toEqual(expect.arrayContaining(['account_secured', 'two_step_removal_cancelled']));
    await h.housekeeping();
    expect(await twoStepRow(user.id)).not.toBeNull();
    // Still asks for the second step.
    const login = await h.request().post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
    expect(login.body.second_step).toBeDefined();
  });

  it('"This wasn\'t me" from the "two-step is on" notice signs everyone out and never turns two-step off', async () => {
    const user = await registeredUser(h, `lost${++n}`);
    const seen = mailSeen(h);
    await turnOnTwoStep(user.agent, user.password);
    const notice = await mailArriving(h, seen, (m) => m.to.includes(user.email) && /is on/.test(m.subject));
    await h.request().post('/account/secure').type('form').send({ token: tokenIn(notice, '/account/secure') }).expect(303);
    await user.agent.get('/api/users/me').expect(401);
    expect((await twoStepRow(user.id))!.enabledAt).not.toBeNull();
    expect(await h.orm.em.fork().count(RecoveryCode, { user: user.id, usedAt: null })).toBe(10);
    const login = await h.request().post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
    expect(login.body).toEqual({ second_step: { methods: ['totp', 'recovery_code'] } });
  });

  it('is not offered while a recovery code is left', async () => {
    const user = await registeredUser(h, `lost${++n}`);
    await turnOnTwoStep(user.agent, user.password);
    const browser = h.request();
    await browser.post('/login').type('form').send({ email: user.email, password: user.password }).expect(303);
    expect((await browser.get('/login/two-step').expect(200)).text).not.toContain("I can't use my authenticator");
    const refused = await browser.post('/login/two-step/lost').type('form').send({}).expect(303);
    expect(refused.headers.location).toBe('/login/two-step');
  });
});
