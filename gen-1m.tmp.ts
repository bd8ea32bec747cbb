// Temporary: a SQLite database with 1,000,000 users, and an empty Postgres database to copy it into.
import { rmSync, mkdirSync } from 'node:fs';
import { openDatabase, migrate } from './src/db/orm.ts';
import { User } from './src/db/entities.ts';
import { startCluster, withClient } from './test/support/postgres.ts';
const dir = '/tmp/suite-1m';
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir);
const url = `sqlite:${dir}/inkwell.db`;
const orm = await openDatabase(url);
await migrate(orm, url);
const em = orm.em.fork();
em.create(User, { username: 'u0', email: 'u0@example.com', passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$' + 'x'.repeat(70) });
await em.flush();
await em.getConnection().execute(`insert into "user"(username,email,password_hash,credential_version,created_at,updated_at)
  with recursive n(i) as (select 1 union all select i+1 from n where i < 999999)
  select 'u'||i, 'u'||i||'@example.com', (select password_hash from "user" limit 1), 1, (select created_at from "user" limit 1), (select updated_at from "user" limit 1) from n`);
console.log('users', (await em.getConnection().execute('select count(*) as n from "user"'))[0]);
await orm.close();
const cluster = await startCluster();
await withClient(cluster.url, (c) => c.query('create database copy1; '));
await withClient(cluster.url, (c) => c.query('create database copy2; '));
console.log(cluster.url.replace(/\/postgres$/, ''));
// Keep the cluster until killed.
process.on('SIGTERM', () => { cluster.stop(); process.exit(0); });
setInterval(() => {}, 1 << 30);
