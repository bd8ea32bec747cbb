// MikroORM's SQLite driver with faults.ts's transaction guard. Its own module, so that a Postgres
// start never loads @mikro-orm/sqlite (orm.ts imports the dialect in use only).
import type { Configuration, Dictionary } from '@mikro-orm/core';
import { SqliteConnection, SqliteDriver } from '@mikro-orm/sqlite';
import type { Dialect } from 'kysely';
import { releasingFailedTransactions, transactionFailed } from './faults.ts';

export { MikroORM } from '@mikro-orm/sqlite';

class SafeSqliteConnection extends SqliteConnection {
  override createKyselyDialect(options: Dictionary): Dialect {
    return releasingFailedTransactions(super.createKyselyDialect(options), transactionFailed(this.logger), false);
  }
}

// MikroORM's drivers build their connection class in the constructor; this replaces it with the safe one.
// (Typed as the driver it extends, so the ORM's types stay those of the stock driver.)
export const SafeSqliteDriver: typeof SqliteDriver = class extends SqliteDriver {
  constructor(config: Configuration) {
    super(config);
    Reflect.set(this, 'connection', new SafeSqliteConnection(this.config));
  }
};
