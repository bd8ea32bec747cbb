// A password change that checked the old password before a reset committed must not undo the reset
// (issue 18, item 3). The interleaving is forced, not hoped for: the change reads the account, the
// reset commits, and only then may the change try to write.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccounts } from '../../src/accounts/index.ts';
import { createLoginThrottle } from '../../src/limits/login-throttle.ts';
import { createLimitReport } from '../../src/limits/report.ts';
import { createLogger } from '../../src/log.ts';
import { User } from '../../src/db/entities.ts';
import { openDatabase } from '../../src/db/orm.ts';
import { dialects, registeredUser, requestResetToken, startHarness, type Harness } from '../support/harness.ts';
import { until } from '../support/net.ts';

const VICTIMS_PASSWORD = 'chosen by the victim';
const ATTACKERS_PASSWORD = 'chosen by the attacker';

describe.each(dialects())('a password change racing a reset on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  /**
   * Postgres: a test connection holds the user's row, so the reset queues on it first and the change
   * (which has read the row and checked the old password meanwhile) second; then the row is let go.
   */
  async function raceOnPostgres<R, C>(userId: number, reset: () => Promise<R>, change: () => Promise<C>) {
    const locker = new pg.Client({ connectionString: h.db.url });
    await locker.connect();
    const waitingOnLocks = async () => {
      const watcher = new pg.Client({ connectionString: h.db.url });
      await watcher.connect();
      try {
        const { rows } = await watcher.query(
          "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        );
        return rows[0].n as number;
      } finally {
        await watcher.end();
      }
    };
    try {
      await locker.query('begin');
      await locker.query('select id from "user" where id = $1 for update', [userId]);
      const resetting = reset();
      await until(async () => (await waitingOnLocks()) >= 1, 'the reset to wait for the row');
      const changing = change();
      await until(async () => (await waitingOnLocks()) >= 2, 'the change to wait behind the reset');
      await locker.query('commit');
      return { reset: await resetting, change: await changing };
    } finally {
      await locker.end();
    }
  }

  /**
   * SQLite: the app's one connection is taken (an open transaction) the moment the change has read the
   * account, so its write queues; the reset runs to its commit on a second connection to the same file.
   */
  async function raceOnSqlite<R, C>(reset: (accounts: ReturnType<typeof createAccounts>) => Promise<R>, change: () => Promise<C>) {
    const second = await openDatabase(h.db.url);
    const loginThrottle = createLoginThrottle({ orm: second, report: createLimitReport(createLogger({ level: 'silent' })), enabled: false });
    const otherInstance = createAccounts({ orm: second, resetThrottleSeconds: 0, signupThrottleSeconds: 0, loginThrottle, mfaKeys: h.config.mfaKeys });
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    let holding: Promise<void> | undefined;
    const log = h.queries;
    const push = log.push;
    // Called synchronously as the change's first query (reading the account) is logged: the hold is
    // queued on the connection before the change's argon2 work can finish.
    log.push = (...sql: string[]) => {
      holding ??= h.orm.em.fork().transactional(() => gate);
      return push.apply(log, sql);
    };
    try {
      const changing = change();
      await until(() => holding !== undefined, 'the change to read the account');
      log.push = push;
      const resetOutcome = await reset(otherInstance);
      letGo();
      await holding;
      return { reset: resetOutcome, change: await changing };
    } finally {
      log.push = push;
      letGo();
      await second.close();
    }
  }

  it('the change is refused as "changed meanwhile"; the reset stands', async () => {
    const victim = await registeredUser(h, 'victim');
    const token = await requestResetToken(h, victim.email);
    const change = () => h.accounts.changePassword(victim.id, { currentPassword: victim.password, newPassword: ATTACKERS_PASSWORD });
    const outcomes = dialect === 'postgres'
      ? await raceOnPostgres(victim.id, () => h.accounts.resetPassword(token, VICTIMS_PASSWORD), change)
      : await raceOnSqlite((accounts) => accounts.resetPassword(token, VICTIMS_PASSWORD), change);

    expect(outcomes.reset).toMatchObject({ ok: true });
    expect(outcomes.change).toEqual({ ok: false, reason: 'changed_meanwhile' });
    await h.request().post('/api/auth/login').send({ email: victim.email, password: VICTIMS_PASSWORD }).expect(200);
    await h.request().post('/api/auth/login').send({ email: victim.email, password: ATTACKERS_PASSWORD }).expect(401);
    expect((await h.orm.em.fork().findOneOrFail(User, { id: victim.id })).credentialVersion).toBe(2);
  });

  it.runIf(dialect === 'postgres')('over HTTP the loser is told, and the stolen session ends', async () => {
    const victim = await registeredUser(h, 'victim_http');
    const token = await requestResetToken(h, victim.email);
    // The attacker holds the victim's session cookie and old password.
    const outcomes = await raceOnPostgres(
      victim.id,
      () => h.request().post('/api/users/reset-password').send({ token, new_password: VICTIMS_PASSWORD }).then((r) => r),
      () => h.request().patch('/api/users/me/password').set('Cookie', victim.cookie)
        .send({ current_password: victim.password, new_password: ATTACKERS_PASSWORD }).then((r) => r),
    );
    expect(outcomes.reset.status).toBe(200);
    expect(outcomes.change.status).toBe(409);
    expect(outcomes.change.body.error.code).toBe('password_changed_meanwhile');
    expect(outcomes.change.body.error.message).toMatch(/changed meanwhile/);
    await h.request().get('/api/users/me').set('Cookie', victim.cookie).expect(401);
    await h.request().post('/api/auth/login').send({ email: victim.email, password: VICTIMS_PASSWORD }).expect(200);
  });
});
