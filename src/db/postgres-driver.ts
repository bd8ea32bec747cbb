// MikroORM's Postgres driver with faults.ts's transaction guard. Its own module, so that a SQLite
// start never loads @mikro-orm/postgresql (orm.ts imports the dialect in use only).
import type { Configuration, Dictionary } from '@mikro-orm/core';
import { PostgreSqlConnection, PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { PostgresDialect } from 'kysely';
import { releasingFailedTransactions, transactionFailed } from './faults.ts';

export { MikroORM } from '@mikro-orm/postgresql';

class SafePostgreSqlConnection extends PostgreSqlConnection {
  override createKyselyDialect(overrides: Dictionary): PostgresDialect {
    return releasingFailedTransactions(super.createKyselyDialect(overrides), transactionFailed(this.logger), true);
  }
}

// MikroORM's drivers build their connection class in the constructor; this replaces it with the safe one.
// (Typed as the driver it extends, so the ORM's types stay those of the stock driver.)
export const SafePostgreSqlDriver: typeof PostgreSqlDriver = class extends PostgreSqlDriver {
  constructor(config: Configuration) {
    super(config);
    Reflect.set(this, 'connection', new SafePostgreSqlConnection(this.config));
  }
};
