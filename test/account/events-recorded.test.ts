// Security events are on record before the answer, in the domain: each in the transaction of the change it
// describes (a sign-in, by every path, in the pipeline's transaction that completes it), a failed sign-in
// and a sign-in link request as recorded requests that are the same for every email. So a crash after the
// answer loses no record, and a real account's request does no work before the answer that an unknown
// email does not.
import express from 'express';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecurityEvent } from '../../src/db/entities.ts';
import { dialects, mailArriving, mailSeen, registeredUser, requestResetToken, startHarness, type Harness } from '../support/harness.ts';
import { until } from '../support/net.ts';
import { CONFIRM_SUBJECT, confirmationLinkIn, recipients, tokenOf } from '../support/smtp.ts';
import { codeFor, turnOnTwoStep } from '../two-step/support.ts';

const FINISHED = '-- response finished --';
const statement = (sql: string) => sql.replace(/^\[query\]\s*/, '');
const isEventInsert = (sql: string) => /^insert into [`"]security_event[`"]/i.test(statement(sql));
const isBegin = (sql: string) => /^(begin|start transaction|savepoint)\b/i.test(statement(sql));
const isCommit = (sql: string) => /^(commit|release savepoint)\b/i.test(statement(sql));
const isJobInsert = (sql: string) => /^insert into [`"]job[`"]/i.test(statement(sql));
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

describe.each(dialects())('security events on record before the answer, on %s', (dialect) => {
  let h: Harness;
  // An outer app marks the moment each response finished in the query log.
  let outer: express.Express;
  let n = 0;
  beforeAll(async () => {
    h = await startHarness(dialect);
    outer = express();
    outer.use((_req, res, next) => {
      res.on('finish', () => h.queries.push(FINISHED));
      next();
    });
    outer.use(h.app);
  });
  afterAll(() => h.close());

  const cookieOf = (res: supertest.Response) => String(res.headers['set-cookie']?.[0] ?? '').split(';')[0];

  /**
   * Runs `act` with a fresh query log, then checks that an event of `kind` was inserted before the answer
   * finished, between the same begin and commit as the statement that made the change.
   */
  async function expectRecordedWithChange(kind: string, change: RegExp, act: () => Promise<unknown>) {
    await h.tasks.drain();
    h.queries.length = 0;
    await act();
    const log = [...h.queries];
    const finished = log.indexOf(FINISHED);
    expect(finished, 'the answer finished').toBeGreaterThanOrEqual(0);
    const at = log.findIndex(isEventInsert);
    expect(at, `an event inserted; the log:\n${log.join('\n')}`).toBeGreaterThanOrEqual(0);
    expect(at, `the event inserted before the answer; the log:\n${log.join('\n')}`).toBeLessThan(finished);
    const begin = log.findLastIndex((sql, i) => i < at && isBegin(sql));
    const commit = log.findIndex((sql, i) => i > at && isCommit(sql));
    expect(begin, 'inside a transaction').toBeGreaterThanOrEqual(0);
    const transaction = log.slice(begin, commit + 1).map(statement);
    expect(transaction.some((sql) => change.test(sql)), `the change in the same transaction:\n${transaction.join('\n')}`).toBe(true);
    // And it is there when the answer arrives: no waiting.
    return h.orm.em.fork().count(SecurityEvent, { kind });
  }

  it('a password change, with the new password', async () => {
    const user = await registeredUser(h, `ev${++n}`);
    const count = await expectRecordedWithChange('password_changed', /^update [`"]user[`"] set .*password_hash/i, () =>
      supertest(outer).patch('/api/users/me/password').set('Cookie', user.cookie)
        .send({ current_password: user.password, new_password: 'a brand new password' }).expect(200),
    );
    expect(count).toBeGreaterThanOrEqual(1);
  });

  it('a reset, with the new password', async () => {
    const user = await registeredUser(h, `ev${++n}`);
    const token = await requestResetToken(h, user.email);
    const count = await expectRecordedWithChange('password_reset_completed', /^update [`"]user[`"] set .*password_hash/i, () =>
      supertest(outer).post('/api/users/reset-password').send({ token, new_password: 'reset to this one' }).expect(200),
    );
    expect(count).toBeGreaterThanOrEqual(1);
  });

  /** Whether a job (the new-device notice) was queued before the answer of the last act. */
  const queuedBeforeAnswer = () => h.queries.slice(0, h.queries.indexOf(FINISHED)).some(isJobInsert);

  it('a password sign-in, with its new-device check (and the notice it queues)', async () => {
    const user = await registeredUser(h, `ev${++n}`);
    await expectRecordedWithChange('sign_in', /from [`"]security_event[`"]/i, () =>
      supertest(outer).post('/api/auth/login').set('User-Agent', FIREFOX).send({ email: user.email, password: user.password }).expect(200),
    );
    // A new device: its notice was queued in that same transaction.
    expect(queuedBeforeAnswer()).toBe(true);
  });

  it('confirming a sign-up: its first sign-in through the pipeline, the baseline that warns of nothing', async () => {
    const email = `ev${++n}@example.com`;
    const password = 'correct horse battery staple';
    await h.request().post('/api/users').send({ username: `ev${n}`, email, password }).expect(202);
    const mail = await h.sink.waitFor((m) => recipients(m).includes(email) && m.subject === CONFIRM_SUBJECT);
    await expectRecordedWithChange('sign_in', /from [`"]security_event[`"]/i, () =>
      supertest(outer).post('/api/users/confirm').set('User-Agent', FIREFOX).send({ token: tokenOf(confirmationLinkIn(mail)), password }).expect(201),
    );
    expect(queuedBeforeAnswer()).toBe(false);
  });

  it('a sign-in after its second step, in the transaction that claims the pending sign-in', async () => {
    const user = await registeredUser(h, `ev${++n}`);
    const { secret } = await turnOnTwoStep(user.agent, user.password);
    const browser = supertest.agent(outer);
    const pending = await browser.post('/api/auth/login').set('User-Agent', FIREFOX).send({ email: user.email, password: user.password }).expect(200);
    expect(pending.body.second_step).toBeDefined();
    expect(await h.orm.em.fork().count(SecurityEvent, { user: user.id, kind: 'sign_in' }), 'the password alone is no sign-in').toBe(1);
    await expectRecordedWithChange('sign_in', /^delete from [`"]pending_sign_in[`"]/i, () =>
      browser.post('/api/auth/second-step').set('User-Agent', FIREFOX).send({ code: codeFor(secret, 1) }).expect(200),
    );
    expect(queuedBeforeAnswer()).toBe(true);
    expect(await h.orm.em.fork().count(SecurityEvent, { user: user.id, kind: 'sign_in' })).toBe(2);
  });

  it('a sign-in with an emailed link, with its new-device check', async () => {
    const user = await registeredUser(h, `ev${++n}`);
    const seen = mailSeen(h);
    await h.request().post('/api/auth/email-link').send({ email: user.email }).expect(202);
    const mail = await mailArriving(h, seen, (m) => m.to.includes(user.email) && m.subject === 'Your Inkwell sign-in link');
    const token = /\/login\/email\/confirm\?token=([A-Za-z0-9_-]+)/.exec(mail.text)![1];
    await expectRecordedWithChange('sign_in', /from [`"]security_event[`"]/i, () =>
      supertest(outer).post('/api/auth/email-link/confirm').set('User-Agent', FIREFOX).send({ token }).expect(200),
    );
    expect(queuedBeforeAnswer()).toBe(true);
  });

  it('signing another session out, with its end', async () => {
    const user = await registeredUser(h, `ev${++n}`);
    const other = await h.request().post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
    const [session] = (await h.request().get('/api/users/me/sessions').set('Cookie', cookieOf(other))).body.sessions
      .filter((s: { current: boolean }) => s.current);
    await expectRecordedWithChange('session_revoked', /^delete from [`"]session[`"]/i, () =>
      supertest(outer).delete(`/api/users/me/sessions/${session.id}`).set('Cookie', user.cookie).expect(204),
    );
  });

  it.each([
    ['a failed sign-in', (email: string) => supertest(outer).post('/api/auth/login').send({ email, password: 'not the password at all' }).expect(401)],
    ['a sign-in link request', (email: string) => supertest(outer).post('/api/auth/email-link').send({ email }).expect(202)],
  ])('%s is recorded before the answer, by the same statements for a real account and an unknown email', async (what, send) => {
    const user = await registeredUser(h, `ev${++n}`);
    const shapes: string[][] = [];
    for (const email of [user.email, `nobody${n}@example.com`]) {
      await h.tasks.drain();
      h.queries.length = 0;
      await send(email);
      const finished = h.queries.indexOf(FINISHED);
      // The job runner's own sweep may look for due jobs meanwhile: not part of the answer.
      const answered = h.queries.slice(0, finished).map(statement).filter((sql) => !/^(update|select)\b.*\bjob\b/is.test(sql));
      // On record before the answer: a crash right after it loses nothing.
      expect(answered.at(-1)).toMatch(/^insert into [`"]job[`"]/i);
      expect(answered.join('\n')).not.toContain(email);
      shapes.push(answered.map((sql) => sql.replace(/'[^']*'/g, '?').replace(/\b\d+\b/g, 'N')));
    }
    expect(shapes[1]).toEqual(shapes[0]);
    // The job put it on the account's record once it ran.
    const kind = what === 'a failed sign-in' ? 'sign_in_failed' : 'sign_in_link_requested';
    await until(async () => (await h.orm.em.fork().count(SecurityEvent, { user: user.id, kind })) === 1, `${kind} on record`);
  });
});
