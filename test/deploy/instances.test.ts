// Two Inkwell processes on one Postgres database behave as one site: sessions, reset links and the
// reset throttle live in the database, so it does not matter which instance a request reaches.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PRODUCTION_ENV, client, startApp, type AppProcess } from '../support/app-process.ts';
import { createDatabase, STRONG_PASSWORD, type TestDatabase } from '../support/harness.ts';
import { signUpThroughEmail } from '../support/sign-up.ts';
import { recipients, resetLinkIn, startSmtpSink, tokenOf, type Sink } from '../support/smtp.ts';

describe.skipIf(!inject('postgresUrl'))('several instances on one Postgres', () => {
  let db: TestDatabase;
  let sink: Sink;
  let a: AppProcess;
  let b: AppProcess;
  beforeAll(async () => {
    db = await createDatabase('postgres');
    sink = await startSmtpSink();
    // Started together on a fresh database, as a deploy would: they also share the first migration.
    const env = { ...PRODUCTION_ENV, DATABASE_URL: db.url, SMTP_URL: sink.url, RESET_THROTTLE_SECONDS: '60' };
    [a, b] = await Promise.all([startApp(env), startApp(env)]);
  });
  afterAll(async () => {
    await sink?.stop();
    await db?.drop();
  });

  it('a reset requested on one instance and redeemed on the other ends the sessions held on both', async () => {
    const alice = { username: 'alice', email: 'alice@example.com', password: STRONG_PASSWORD };
    const onA = client(a);
    expect((await signUpThroughEmail(onA, sink, alice)).status).toBe(201);
    const onB = client(b);
    expect((await onB.post('/api/auth/login', alice)).status).toBe(200);
    // A session opened on A is honoured by B, and the other way round.
    expect((await client(b, onA.cookie).get('/api/users/me')).body.user.email).toBe(alice.email);
    expect((await client(a, onB.cookie).get('/api/users/me')).body.user.email).toBe(alice.email);

    expect((await client(a).post('/api/users/forgot-password', { email: alice.email })).status).toBe(202);
    const mail = await sink.waitFor((m) => recipients(m).includes(alice.email) && m.subject === 'Reset your Inkwell password');
    // Asked again on B within the throttle window: B sees A's request in the database and sends nothing.
    expect((await client(b).post('/api/users/forgot-password', { email: alice.email })).status).toBe(202);

    const reset = await client(b).post('/api/users/reset-password', { token: tokenOf(resetLinkIn(mail)), new_password: 'a passphrase for both' });
    expect(reset.status).toBe(200);
    for (const [app, cookie] of [[a, onA.cookie], [b, onB.cookie], [a, onB.cookie], [b, onA.cookie]] as const) {
      expect((await client(app, cookie).get('/api/users/me')).status).toBe(401);
    }
    expect((await client(a).post('/api/auth/login', { email: alice.email, password: 'a passphrase for both' })).status).toBe(200);

    // A graceful stop finishes each instance's after-response work, so the count below is final.
    const exits = await Promise.all([a.stop(), b.stop()]);
    expect(exits).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }]);
    const resets = sink.messages.filter((m) => m.subject === 'Reset your Inkwell password');
    expect(resets).toHaveLength(1);
  });
});
