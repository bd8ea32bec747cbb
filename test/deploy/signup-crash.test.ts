// A sign-up's 202 is a promise too: SIGKILL right after the answers loses none of them.
import { afterAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/accounts/passwords.ts';
import { User } from '../../src/db/entities.ts';
import { migrate, openDatabase } from '../../src/db/orm.ts';
import { PRODUCTION_ENV, client, startApp } from '../support/app-process.ts';
import { createDatabase, STRONG_PASSWORD, type TestDatabase } from '../support/harness.ts';
import { until } from '../support/net.ts';
import { ACCOUNT_EXISTS_SUBJECT, CONFIRM_SUBJECT, confirmationLinkIn, recipients, startSmtpSink, tokenOf, type Sink } from '../support/smtp.ts';

// A recorded request is swept up at start-up; a generous bound for a busy machine.
const DELIVERY_BOUND_MS = 120_000;

let db: TestDatabase | undefined;
let sink: Sink | undefined;
afterAll(async () => {
  await sink?.stop();
  await db?.drop();
});

describe('SIGKILL right after sign-up answers (SQLite)', () => {
  it('after a restart every new address gets a working link and every taken address its note', async () => {
    db = await createDatabase('sqlite');
    // Accounts written straight into the database: the taken addresses.
    const orm = await openDatabase(db.url);
    try {
      await migrate(orm, db.url);
      const at = new Date();
      const passwordHash = await hashPassword(STRONG_PASSWORD);
      for (const username of ['owner0', 'owner1', 'owner2']) {
        await orm.em.fork().insert(User, { username, email: `${username}@example.com`, passwordHash, credentialVersion: 1, createdAt: at, updatedAt: at });
      }
    } finally {
      await orm.close();
    }
    const fresh = Array.from({ length: 6 }, (_, i) => `joiner${i}`);
    const taken = ['owner0', 'owner1', 'owner2'];
    // The mail server is down (it turns every connection away): nothing can be sent before the kill.
    sink = await startSmtpSink({ refusing: true });
    const env = { ...PRODUCTION_ENV, DATABASE_URL: db.url, SMTP_URL: sink.url, RATE_LIMITS: 'off' };
    const first = await startApp(env);
    const answers = await Promise.all([
      ...fresh.map((name) => client(first).post('/api/users', { username: name, email: `${name}@example.com`, password: STRONG_PASSWORD })),
      ...taken.map((name, i) => client(first).post('/api/users', { username: `intruder${i}`, email: `${name}@example.com`, password: 'not the owner at all' })),
    ]);
    first.child.kill('SIGKILL');
    expect(answers.map((a) => a.status)).toEqual([...fresh, ...taken].map(() => 202));
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    sink.refuse(false);
    const mailbox = sink;
    const second = await startApp(env);
    try {
      const mailTo = (name: string, subject: string) =>
        mailbox.messages.filter((m) => recipients(m).includes(`${name}@example.com`) && m.subject === subject).at(-1);
      await until(
        () => fresh.every((name) => mailTo(name, CONFIRM_SUBJECT)) && taken.every((name) => mailTo(name, ACCOUNT_EXISTS_SUBJECT)),
        'an email for every accepted sign-up',
        DELIVERY_BOUND_MS,
      );
      for (const name of fresh) {
        const confirmed = await client(second).post('/api/users/confirm', { token: tokenOf(confirmationLinkIn(mailTo(name, CONFIRM_SUBJECT)!)), password: STRONG_PASSWORD });
        expect(confirmed.status, `${name}: ${JSON.stringify(confirmed.body)}`).toBe(201);
        expect(confirmed.body.user.username).toBe(name);
      }
      for (const name of taken) {
        expect(mailTo(name, ACCOUNT_EXISTS_SUBJECT)!.text).not.toContain('register/confirm');
        const intruder = await client(second).post('/api/auth/login', { email: `${name}@example.com`, password: 'not the owner at all' });
        expect(intruder.status).toBe(401);
      }
    } finally {
      await second.stop();
    }
  }, 300_000);
});
