// /metrics: Prometheus text for whoever bears METRICS_TOKEN, and nothing at all for anyone else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Job } from '../../src/db/entities.ts';
import { enqueue } from '../../src/jobs/queue.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { recipients } from '../support/smtp.ts';

const TOKEN = 'metrics-token-0123456789';

describe.each(dialects())('metrics on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect, { env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(() => h.close());

  const scrape = () => h.request().get('/metrics').set('Authorization', `Bearer ${TOKEN}`);

  it('answers 404, like an unknown page, without the token or with a wrong one', async () => {
    await h.request().get('/metrics').expect(404);
    await h.request().get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789').expect(404);
    await h.request().get('/metrics').set('Authorization', TOKEN).expect(404);
    await h.request().get('/api/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(404);
  });

  it('shows emails sent by kind, the queue depth and age, and request durations by route', async () => {
    const user = await registeredUser(h, 'metric');
    await h.request().post('/api/users/forgot-password').send({ email: user.email }).expect(202);
    await h.sink.waitFor((m) => recipients(m).includes(user.email));
    await h.tasks.drain();
    // A job due for a minute that nobody can run yet: the queue shows it.
    const id = await enqueue(h.orm.em.fork(), 'email:stuck', { userId: user.id }, { wake: false, runAt: new Date(Date.now() + 3600_000) });
    await h.orm.em.fork().nativeUpdate(Job, { id }, { runAt: new Date(Date.now() + 3600_000), createdAt: new Date(Date.now() - 60_000) });

    const res = await scrape().expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^inkwell_emails_total\{kind="reset-instructions",outcome="sent"\} 1$/m);
    expect(res.text).toMatch(/^inkwell_outbox_depth\{kind="email:stuck"\} 1$/m);
    expect(res.text).toMatch(/^inkwell_outbox_oldest_due_age_seconds\{kind="email:stuck"\} 0$/m); // not due yet
    expect(res.text).toMatch(/^inkwell_http_request_duration_seconds_count\{method="POST",route="\/api\/users\/forgot-password",status="202"\} 1$/m);

    // Due now: with the runner stopped (this is the file's last test), nothing claims it before the scrape.
    await h.jobs.stop(5_000);
    await h.orm.em.fork().nativeUpdate(Job, { id }, { runAt: new Date(Date.now() - 1000) });
    const due = await scrape().expect(200);
    const age = Number(/^inkwell_outbox_oldest_due_age_seconds\{kind="email:stuck"\} (\S+)$/m.exec(due.text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(59);
    expect(due.text).not.toContain(user.email);
    await h.orm.em.fork().nativeDelete(Job, { id });
  });
});
