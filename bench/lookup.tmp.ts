import { openDatabases, insertUsers, emailOf, unknownEmailOf } from './lib/database.ts';
import { openDatabase } from '../src/db/orm.ts';
import { User } from '../src/db/entities.ts';
import { randomInt } from 'node:crypto';
const dbs = await openDatabases((process.argv[2] ?? 'sqlite') as 'sqlite', '/tmp/prof');
const url = await dbs.create('lookup' + Date.now() % 100000);
await insertUsers(url, 1, 1000, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g');
const orm = await openDatabase(url);
const t = { found: [] as number[], missing: [] as number[] };
for (let i = 0; i < 6000; i++) {
  const known = randomInt(2) === 0;
  const email = known ? emailOf(1 + randomInt(1000)) : unknownEmailOf(randomInt(1e6));
  const s = process.hrtime.bigint();
  const u = process.argv[3] === 'qb'
    ? await orm.em.fork().createQueryBuilder(User).select(['id', 'passwordHash', 'credentialVersion']).where({ email }).execute('get')
    : await orm.em.fork().findOne(User, { email });
  const ms = Number(process.hrtime.bigint() - s) / 1e3;
  if (i > 1000) (known ? t.found : t.missing).push(ms);
  if (known !== !!u) throw new Error('mismatch');
}
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1];
console.log('µs median found', med(t.found).toFixed(1), 'missing', med(t.missing).toFixed(1));
await orm.close(); await dbs.stop();
