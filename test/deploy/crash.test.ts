// SIGKILL at the worst moments loses nothing answered 202: the real process, a real SMTP server, both databases.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../src/accounts/passwords.ts';
import { Job, User } from '../../src/db/entities.ts';
import { migrate, openDatabase } from '../../src/db/orm.ts';
import { PRODUCTION_ENV, client, startApp, type AppProcess } from '../support/app-process.ts';
import { createDatabase, STRONG_PASSWORD, type TestDatabase } from '../support/harness.ts';
import { until } from '../support/net.ts';
import { recipients, resetLinkIn, startSmtpSink, tokenOf, type Sink } from '../support/smtp.ts';

// Leases last 90 s: a killed instance's claimed mail is due again after that, and a sweep (every 5 s) takes it.
const DELIVERY_BOUND_MS = 120_000;

const databases: TestDatabase[] = [];
const sinks: Sink[] = [];
afterAll(async () => {
  await Promise.all(sinks.map((s) => s.stop()));
  await Promise.all(databases.map((d) => d.drop()));
});

/** Accounts written straight into the database (migrated first), so the test depends on no sign-up flow. */
async function seedUsers(url: string, names: string[]): Promise<string[]> {
  const orm = await openDatabase(url);
  try {
    await migrate(orm, url);
    const passwordHash = await hashPassword(STRONG_PASSWORD);
    const at = new Date();
    const em = orm.em.fork();
    for (const username of names) {
      await em.insert(User, { username, email: `${username}@example.com`, passwordHash, credentialVersion: 1, createdAt: at, updatedAt: at });
    }
    return names.map((n) => `${n}@example.com`);
  } finally {
    await orm.close();
  }
}

/**
 * Every address has an email whose link resets the password: the link minted last (older ones were
 * superseded). Two sends of one address can finish in either order, so the newest to arrive is not
 * always the newest minted: the links are tried newest first, and one must work.
 */
async function expectEveryLinkWorks(app: AppProcess, sink: Sink, emails: string[]): Promise<void> {
  for (const email of emails) {
    const received = sink.messages.filter((m) => recipients(m).includes(email)).reverse();
    const answers: number[] = [];
    for (const message of received) {
      const reset = await client(app).post('/api/users/reset-password', { token: tokenOf(resetLinkIn(message)), new_password: `new pass for ${email}` });
      answers.push(reset.status);
      if (reset.status === 200) break;
    }
    expect(answers.at(-1), `${email}: ${answers.join(', ')}`).toBe(200);
    expect(answers.slice(0, -1).every((status) => status === 400)).toBe(true);
  }
}

const everyoneHasMail = (sink: Sink, emails: string[]) => () => emails.every((e) => sink.messages.some((m) => recipients(m).includes(e)));

describe('SIGKILL right after the answers (SQLite)', () => {
  it('every request answered 202 before the kill is emailed after a restart, and every link works', async () => {
    const db = await createDatabase('sqlite');
    databases.push(db);
    const emails = await seedUsers(db.url, Array.from({ length: 12 }, (_, i) => `crash${i}`));
    // The mail server is down (it turns every connection away): nothing can be sent before the kill.
    const sink = await startSmtpSink({ refusing: true });
    sinks.push(sink);
    const env = { ...PRODUCTION_ENV, DATABASE_URL: db.url, SMTP_URL: sink.url, RATE_LIMITS: 'off' };
    const first = await startApp(env);
    const answers = await Promise.all(emails.map((email) => client(first).post('/api/users/forgot-password', { email })));
    first.child.kill('SIGKILL');
    expect(answers.map((a) => a.status)).toEqual(emails.map(() => 202));
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    sink.refuse(false);
    const second = await startApp(env);
    try {
      const since = Date.now();
      await until(everyoneHasMail(sink, emails), 'an email for every accepted request', DELIVERY_BOUND_MS);
      // Work the victim held may still be redone: a re-sent email (its new link minted, the email not yet
      // arrived), or a recorded request whose lease ran out (it voids the older link and queues a new
      // email). Links are checked once no job is left to run.
      await until(() => unfinishedJobs(db.url).then((n) => n === 0), 'every job to finish', DELIVERY_BOUND_MS);
      console.log(`[deploy] SQLite, SIGKILL after 12 answers: all delivered ${Date.now() - since} ms after the restart`);
      await expectEveryLinkWorks(second, sink, emails);
    } finally {
      await second.stop();
    }
  }, 300_000);
});

describe.skipIf(!inject('postgresUrl'))('one of two instances SIGKILLed mid-delivery (Postgres)', () => {
  it('the survivor delivers every accepted request within two minutes; duplicates only of mail in flight at the kill', async () => {
    const db = await createDatabase('postgres');
    databases.push(db);
    const emails = await seedUsers(db.url, Array.from({ length: 24 }, (_, i) => `pair${i}`));
    // Slow to answer each message, so the victim surely has mail in flight when it dies.
    const sink = await startSmtpSink({ replyDelayMs: 1_500 });
    sinks.push(sink);
    const env = { ...PRODUCTION_ENV, DATABASE_URL: db.url, SMTP_URL: sink.url, RATE_LIMITS: 'off' };
    const [victim, survivor] = await Promise.all([startApp(env), startApp(env)]);
    try {
      // Behind a balancer: the requests alternate between the instances.
      const answers = await Promise.all(
        emails.map((email, i) => client(i % 2 === 0 ? victim : survivor).post('/api/users/forgot-password', { email })),
      );
      expect(answers.map((a) => a.status)).toEqual(emails.map(() => 202));
      await until(() => sink.messages.length >= 2, 'delivery to be under way');
      victim.child.kill('SIGKILL');
      await victim.exited;
      const killedAt = Date.now();
      // What was claimed (leased, unfinished) when the victim died: only these may be sent twice.
      const inFlight = await leasedEmailUsers(db.url);
      expect(sink.messages.length).toBeLessThan(emails.length); // the kill did land mid-delivery

      await until(everyoneHasMail(sink, emails), 'an email for every accepted request', DELIVERY_BOUND_MS);
      const took = Date.now() - killedAt;
      // The victim's claimed mail is sent again once its lease runs out: the re-send mints a new link
      // (voiding the one already delivered) before its email arrives. Count and check once it is done.
      await until(() => unfinishedJobs(db.url).then((n) => n === 0), 'every job to finish', DELIVERY_BOUND_MS);
      const counts = new Map(emails.map((e) => [e, sink.messages.filter((m) => recipients(m).includes(e)).length]));
      const duplicated = emails.filter((e) => counts.get(e)! > 1);
      console.log(`[deploy] Postgres, one of two instances killed mid-delivery: all delivered ${took} ms after the kill; ` +
        `${inFlight.size} in flight at the kill, ${duplicated.length} duplicated`);
      expect(took).toBeLessThan(DELIVERY_BOUND_MS);
      for (const email of duplicated) expect(inFlight.has(email), `${email} was sent twice without being in flight`).toBe(true);
      await expectEveryLinkWorks(survivor, sink, emails);
    } finally {
      await survivor.stop();
    }
  }, 300_000);
});

/** Jobs still to run (claimed or due), whatever their kind. */
async function unfinishedJobs(url: string): Promise<number> {
  const orm = await openDatabase(url);
  try {
    return await orm.em.fork().count(Job, { finishedAt: null, deadAt: null });
  } finally {
    await orm.close();
  }
}

async function leasedEmailUsers(url: string): Promise<Set<string>> {
  const orm = await openDatabase(url);
  try {
    const em = orm.em.fork();
    const leased = await em.find(Job, { kind: 'email:reset-instructions', finishedAt: null, attempts: { $gt: 0 }, runAt: { $gt: new Date() } });
    const ids = leased.map((job) => (JSON.parse(job.payload) as { userId: number }).userId);
    const users = await em.find(User, { id: { $in: ids } });
    return new Set(users.map((u) => u.email));
  } finally {
    await orm.close();
  }
}
