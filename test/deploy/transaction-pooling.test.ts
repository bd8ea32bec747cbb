// Everything Inkwell sends to Postgres must work behind PgBouncer in transaction mode, where each
// transaction may run on a different server connection. This watches every statement and every
// connection's start-up parameters while the app migrates a fresh database and serves the main
// flows, and fails on anything that needs one server session to last beyond a transaction.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { registeredUser, requestResetToken, startHarness, type Harness } from '../support/harness.ts';

type Sent = { text: string; name: string | undefined };

// What breaks in transaction mode (docs/instances.md): a named (prepared) statement lives on the server
// connection that parsed it; a session SET leaks to whichever client gets that connection next;
// LISTEN hears nothing once the transaction ends; session advisory locks may be released on another
// connection than the one holding them. `SET LOCAL` and `pg_advisory_xact_lock` are transaction-scoped.
// `SET NAMES` (MikroORM's migration runner starts each migration with it) sets client_encoding, one of
// the few parameters PgBouncer tracks per client and restores on whatever server connection it uses.
const SESSION_STATEMENTS = [
  /^\s*set\s+(?!local\b|transaction\b|names\b)/i,
  /^\s*(reset|listen|unlisten|notify|prepare|declare|discard)\b/i,
  /\bpg_(try_)?advisory_lock(_shared)?\s*\(/i,
  /\bpg_advisory_unlock/i,
  /\bset_config\s*\([^)]*,\s*false\s*\)/i,
];
// PgBouncer refuses these start-up parameters outright (pg's statement_timeout option and friends).
const REFUSED_STARTUP = ['statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'options'];

describe.skipIf(!inject('postgresUrl'))('what Inkwell sends works behind a transaction-mode pooler (Postgres)', () => {
  const sent: Sent[] = [];
  const startups: Record<string, string>[] = [];
  const Client = pg.Client.prototype as unknown as {
    query: (...args: unknown[]) => unknown;
    getStartupConf: () => Record<string, string>;
  };
  const { query, getStartupConf } = Client;
  let h: Harness;

  beforeAll(async () => {
    // Observed, not changed: every call goes on to pg as before.
    Client.query = function (this: unknown, ...args: unknown[]) {
      const config = args[0] as string | { text?: string; name?: string };
      sent.push(typeof config === 'string' ? { text: config, name: undefined } : { text: String(config?.text), name: config?.name });
      return query.apply(this, args);
    };
    Client.getStartupConf = function (this: unknown) {
      const conf = getStartupConf.call(this);
      startups.push(conf);
      return conf;
    };
    // A fresh database: the start-up migrations are part of what is watched.
    h = await startHarness('postgres', { env: { RATE_LIMITS: 'on' } });
  });
  afterAll(async () => {
    Client.query = query;
    Client.getStartupConf = getStartupConf;
    await h?.close();
  });

  it('no named statements, session settings, LISTEN, session locks or refused start-up options', async () => {
    const alice = await registeredUser(h, 'alice');
    await h.request().post('/api/auth/login').send({ email: alice.email, password: 'wrong password here' }).expect(401);
    await alice.agent.post('/api/posts').send({ title: 'Hello', body: 'First *post*' }).expect(201);
    await h.request().get('/').expect(200);
    await alice.agent.get('/api/users/me/sessions').expect(200);
    const token = await requestResetToken(h, alice.email);
    await h.request().post('/api/users/reset-password').send({ token, new_password: 'a brand new passphrase' }).expect(200);
    await h.request().post('/api/auth/login').send({ email: alice.email, password: 'a brand new passphrase' }).expect(200);
    await h.request().get('/readyz').expect(200);
    await h.tasks.drain();
    await h.housekeeping();

    expect(sent.length).toBeGreaterThan(50);
    expect(sent.filter((s) => s.text.includes('mikro_orm_migrations')).length).toBeGreaterThan(0);
    expect(sent.filter((s) => s.name !== undefined).map((s) => `${s.name}: ${s.text}`)).toEqual([]);
    expect(sent.filter((s) => SESSION_STATEMENTS.some((re) => re.test(s.text))).map((s) => s.text)).toEqual([]);
    expect(startups.length).toBeGreaterThan(0);
    for (const startup of startups) expect(Object.keys(startup).filter((key) => REFUSED_STARTUP.includes(key))).toEqual([]);
  });
});
