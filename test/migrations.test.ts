// One migration history builds the same schema the entities describe, on every dialect.
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase, schemaDrift, type Orm } from '../src/db/orm.ts';
import { createDatabase, dialects, type TestDatabase } from './support/harness.ts';

describe.each(dialects())('migrations on %s', (dialect) => {
  let db: TestDatabase;
  let orm: Orm;
  afterEach(async () => {
    await orm?.close();
    await db?.drop();
  });

  it('migrating an empty database leaves zero drift against the entities', async () => {
    db = await createDatabase(dialect);
    orm = await openDatabase(db.url);
    expect(await schemaDrift(orm)).not.toBe(''); // the check can fail: an empty database drifts
    const applied = await migrate(orm, db.url);
    expect(applied.length).toBeGreaterThan(0);
    expect(await schemaDrift(orm)).toBe('');
  });

  it('a second migrate finds nothing to do', async () => {
    db = await createDatabase(dialect);
    orm = await openDatabase(db.url);
    await migrate(orm, db.url);
    expect(await migrate(orm, db.url)).toEqual([]);
  });

  it('every migration can be rolled back to an empty database', async () => {
    db = await createDatabase(dialect);
    orm = await openDatabase(db.url);
    await migrate(orm, db.url);
    await orm.migrator.down({ to: 0 });
    const tables = await orm.em.getConnection().execute(
      dialect === 'sqlite'
        ? "select name from sqlite_master where type = 'table' and name in ('user', 'session', 'password_reset_token', 'post', 'signup', 'signup_throttle', 'job', 'security_event', 'account_token', 'rate_limit_hit', 'login_throttle', 'email_change_throttle', 'post_search')"
        : "select table_name from information_schema.tables where table_schema = 'public' and table_name in ('user', 'session', 'password_reset_token', 'post', 'signup', 'signup_throttle', 'job', 'security_event', 'account_token', 'rate_limit_hit', 'login_throttle', 'email_change_throttle', 'post_search')",
    );
    expect(tables).toEqual([]);
  });
});
