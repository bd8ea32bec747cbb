// SMTP down: the answer does not change, the failure is logged without secrets, and retries deliver (or, after a day, give up).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Job } from '../../src/db/entities.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { recipients, resetLinkIn, tokenOf } from '../support/smtp.ts';
import { PATIENCE_MS, until } from '../support/net.ts';

describe.each(dialects())('mail failures on %s', (dialect) => {
  let h: Harness;
  let carol: Awaited<ReturnType<typeof registeredUser>>;
  let dave: Awaited<ReturnType<typeof registeredUser>>;
  beforeAll(async () => {
    h = await startHarness(dialect);
    // Signing up needs its confirmation email; then the mail server goes "down": the sink turns
    // connections away (421) on a port that stays its own, so nothing else can take it meanwhile.
    carol = await registeredUser(h, 'carol');
    dave = await registeredUser(h, 'dave');
    h.sink.refuse(true);
  });
  afterAll(() => h.close());

  const logged = (text: string) => h.logs.filter((line) => line.includes(text));

  it('with SMTP down the request still answers 202 and the server stays healthy; the mail arrives when SMTP returns', async () => {
    const user = carol;
    const res = await h.request().post('/api/users/forgot-password').send({ email: user.email });
    expect(res.status).toBe(202);
    await until(() => logged('mail not sent; will retry').length > 0, 'a logged mail failure');
    // Back at once: the retries' backoff (a few seconds in the harness) must not run out first.
    h.sink.refuse(false);
    await h.request().get('/healthz').expect(200);
    await h.request().get('/readyz').expect(200);

    const mail = await h.sink.waitFor((m) => recipients(m).includes(user.email) && m.subject === 'Reset your Inkwell password');
    const token = tokenOf(resetLinkIn(mail));
    await until(() => logged('mail sent after retry').length === 1, 'the retry to be logged');
    const all = h.logs.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toContain('reset-password?token');
    const failure = JSON.parse(logged('mail not sent; will retry')[0]);
    expect(failure.error.responseCode).toBe(421);
    expect(failure.mail).toBe('reset-instructions');
    h.sink.refuse(true);
  });

  it('when SMTP never returns, the email is given up after about a day: logged as an error, without its content', async () => {
    const user = dave;
    await h.request().post('/api/users/forgot-password').send({ email: user.email }).expect(202);
    await until(() => logged('mail not sent; will retry').some((line) => JSON.parse(line).attempt >= 2), 'a second failed attempt');
    // A day later, as far as the job can tell: its next failure is its last.
    const jobs = h.orm.em.fork();
    const pending = { kind: 'email:reset-instructions', finishedAt: null, deadAt: null };
    expect(await jobs.count(Job, pending)).toBe(1);
    await jobs.nativeUpdate(Job, pending, { createdAt: new Date(Date.now() - 25 * 3600_000), runAt: new Date() });
    await until(() => logged('mail not sent; giving up').length === 1, 'the email to be given up');

    const gaveUp = JSON.parse(logged('mail not sent; giving up')[0]);
    expect(gaveUp.level).toBe(50);
    expect(gaveUp.mail).toBe('reset-instructions');
    expect(JSON.stringify(gaveUp)).not.toContain(user.email);
    expect(await jobs.count(Job, { kind: 'email:reset-instructions', deadAt: { $ne: null } })).toBe(1);
    expect(await h.tasks.drain()).toBe(0); // a dead job is never claimed again
    await h.request().get('/healthz').expect(200);
    await h.request().post('/api/auth/login').send({ email: user.email, password: user.password }).expect(200);
  });
});
