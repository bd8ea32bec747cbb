// Postgres unreachable for 10 s under forgot-password traffic: no request answered 202 is lost. A request
// that cannot be recorded is refused (5xx), never accepted.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../../src/accounts/passwords.ts';
import { User } from '../../src/db/entities.ts';
import { migrate, openDatabase } from '../../src/db/orm.ts';
import { PRODUCTION_ENV, client, startApp } from '../support/app-process.ts';
import { createDatabase, STRONG_PASSWORD, type TestDatabase } from '../support/harness.ts';
import { freePort, until } from '../support/net.ts';
import { recipients, startSmtpSink, type Sink } from '../support/smtp.ts';

const OUTAGE_MS = 10_000;

/**
 * A TCP relay in front of Postgres that can be cut: while cut, it refuses connections and has dropped
 * every open one, as a stopped or unreachable database server looks to the app.
 */
async function relay(target: URL): Promise<{ url: string; cut: () => Promise<void>; restore: () => Promise<void>; close: () => Promise<void> }> {
  const port = await freePort();
  const open = new Set<Socket>();
  let server: Server | null = null;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((inbound) => {
        const outbound = connect(Number(target.port), target.hostname);
        for (const socket of [inbound, outbound]) {
          open.add(socket);
          socket.on('close', () => open.delete(socket));
          socket.on('error', () => {});
        }
        inbound.pipe(outbound).pipe(inbound);
        inbound.on('close', () => outbound.destroy());
        outbound.on('close', () => inbound.destroy());
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const cut = async () => {
    const closing = new Promise<void>((resolve) => server!.close(() => resolve()));
    for (const socket of open) socket.destroy();
    await closing;
  };
  await listen();
  const url = new URL(target.href);
  url.port = String(port);
  return { url: url.href, cut, restore: listen, close: cut };
}

describe.skipIf(!inject('postgresUrl'))('forgot password while Postgres is unreachable', () => {
  let db: TestDatabase;
  let sink: Sink;
  afterAll(async () => {
    await sink?.stop();
    await db?.drop();
  });

  it('every request answered 202 during a 10 s outage is emailed; the others were refused, not accepted', async () => {
    db = await createDatabase('postgres');
    const names = Array.from({ length: 8 }, (_, i) => `outage${i}`);
    const orm = await openDatabase(db.url);
    await migrate(orm, db.url);
    const passwordHash = await hashPassword(STRONG_PASSWORD);
    for (const username of names) {
      const at = new Date();
      await orm.em.fork().insert(User, { username, email: `${username}@example.com`, passwordHash, credentialVersion: 1, createdAt: at, updatedAt: at });
    }
    await orm.close();

    sink = await startSmtpSink();
    const proxy = await relay(new URL(db.url));
    const app = await startApp({ ...PRODUCTION_ENV, DATABASE_URL: proxy.url, SMTP_URL: sink.url, RATE_LIMITS: 'off', RESET_THROTTLE_SECONDS: '0' });
    try {
      const answers: { email: string; status: number | string; phase: string }[] = [];
      let phase = 'before';
      let sending = true;
      // One request at a time, round the accounts, before, during and after the outage.
      const traffic = (async () => {
        for (let i = 0; sending; i++) {
          const email = `${names[i % names.length]}@example.com`;
          const sentIn = phase;
          const status = await fetch(`${app.url}/api/users/forgot-password`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
            body: JSON.stringify({ email }),
            signal: AbortSignal.timeout(20_000),
          }).then((res) => res.status, (err: Error) => err.name);
          answers.push({ email, status, phase: sentIn === phase ? sentIn : `${sentIn}→${phase}` });
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      await until(() => answers.length >= 5, 'traffic before the outage');
      phase = 'outage';
      await proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      await proxy.restore();
      phase = 'after';
      const afterFrom = answers.length;
      await until(() => answers.slice(afterFrom).filter((a) => a.status === 202).length >= 5, 'accepted requests after the outage', 60_000);
      sending = false;
      await traffic;

      const during = answers.filter((a) => a.phase === 'outage');
      const summary = JSON.stringify(answers.reduce<Record<string, number>>((n, a) => ({ ...n, [`${a.phase} ${a.status}`]: (n[`${a.phase} ${a.status}`] ?? 0) + 1 }), {}));
      console.log(`[deploy] forgot-password across a 10 s Postgres outage: ${summary}`);
      expect(during.length).toBeGreaterThan(0);
      // Refused while the database was away (a 5xx or no answer), never accepted without being recorded.
      expect(during.some((a) => a.status !== 202), summary).toBe(true);
      for (const a of answers) expect(a.status === 202 || typeof a.status === 'string' || a.status >= 500, summary).toBe(true);

      // Every 202 ends as an email (throttle off: one email per accepted request).
      const accepted = new Map<string, number>();
      for (const a of answers) if (a.status === 202) accepted.set(a.email, (accepted.get(a.email) ?? 0) + 1);
      const received = (email: string) => sink.messages.filter((m) => recipients(m).includes(email)).length;
      await until(() => [...accepted].every(([email, n]) => received(email) >= n), 'an email for every accepted request', 150_000);
      expect((await client(app).get('/readyz')).status).toBe(200);
    } finally {
      await app.stop();
      await proxy.close().catch(() => {});
    }
  }, 300_000);
});
