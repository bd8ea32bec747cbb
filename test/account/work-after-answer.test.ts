// The account-dependent work of a recorded request (forgot password, sign-up, a failed sign-in, a sign-in
// link request) starts at a random moment a few seconds after it, not when its answer goes out, so it
// lands on no request in particular; a graceful stop does it at once. With production's delay, not the tests' usual none.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORK_DELAY_MS, randomWorkDelay } from '../../src/accounts/requests.ts';
import { Job, SecurityEvent } from '../../src/db/entities.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { PATIENCE_MS, until } from '../support/net.ts';
import { recipients } from '../support/smtp.ts';

describe.each(dialects())('work after the answer on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { app: { workDelay: randomWorkDelay } });
  });
  afterAll(() => h.close());

  const jobsOf = (kind: string) => h.orm.em.fork().find(Job, { kind });

  it('each recorded request is due 1 to 4 seconds after it, at a random moment, and untouched when its answer arrives', async () => {
    const user = await registeredUser(h, 'delayed');
    const requests = [
      { kind: 'password-reset-request', send: () => h.request().post('/api/users/forgot-password').send({ email: user.email }).expect(202) },
      { kind: 'password-reset-request', send: () => h.request().post('/api/users/forgot-password').send({ email: 'nobody@example.com' }).expect(202) },
      { kind: 'signup-request', send: () => h.request().post('/api/users').send({ username: 'another', email: 'another@example.com', password: user.password }).expect(202) },
      { kind: 'sign-in-failed', send: () => h.request().post('/api/auth/login').send({ email: user.email, password: 'not the password' }).expect(401) },
      { kind: 'sign-in-failed', send: () => h.request().post('/api/auth/login').send({ email: 'nobody@example.com', password: 'not the password' }).expect(401) },
      { kind: 'sign-in-link-request', send: () => h.request().post('/api/auth/email-link').send({ email: user.email }).expect(202) },
      { kind: 'sign-in-link-request', send: () => h.request().post('/api/auth/email-link').send({ email: 'nobody@example.com' }).expect(202) },
    ];
    const delays: number[] = [];
    for (const { kind, send } of requests) {
      const before = new Set((await jobsOf(kind)).map((job) => job.id));
      await send();
      const [job] = (await jobsOf(kind)).filter((row) => !before.has(row.id));
      expect(job, kind).toBeDefined();
      expect(job.attempts, `${kind}: not claimed when the answer arrived`).toBe(0);
      const delay = job.runAt.getTime() - job.createdAt.getTime();
      expect(delay).toBeGreaterThanOrEqual(WORK_DELAY_MS.min);
      expect(delay).toBeLessThanOrEqual(WORK_DELAY_MS.max);
      delays.push(delay);
    }
    expect(new Set(delays).size).toBeGreaterThan(1);

    // And the work is done at its time, with nothing else to wake it: the reset email, the failure on record.
    await h.sink.waitFor((m) => recipients(m).includes(user.email) && m.subject === 'Reset your Inkwell password');
    await until(async () => (await h.orm.em.fork().count(SecurityEvent, { user: user.id, kind: 'sign_in_failed' })) === 1, 'the failure counted');
  });

  it('a graceful stop does the recorded work at once instead of leaving it to the next start', async () => {
    const email = 'delayed@example.com';
    const sent = () => h.sink.messages.filter((m) => recipients(m).includes(email) && m.subject === 'Reset your Inkwell password').length;
    await h.tasks.drain();
    const before = sent();
    await h.request().post('/api/users/forgot-password').send({ email }).expect(202);
    expect(await h.jobs.stop(PATIENCE_MS)).toBe(0);
    expect(sent()).toBe(before + 1);
    expect(await jobsOf('password-reset-request')).toEqual([]);
  });
});
