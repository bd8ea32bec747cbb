// Databases for the benchmark: fresh and migrated, then filled by bulk inserts rather than through the app.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { mintToken } from '../../src/accounts/tokens.ts';
import { renderedBody } from '../../src/posts/reads.ts';
import { isPostgres, migrate, openDatabase, type Orm } from '../../src/db/orm.ts';
import { startCluster, withClient, type Cluster } from '../../test/support/postgres.ts';

export type Dialect = 'sqlite' | 'postgres';

export type Databases = {
  dialect: Dialect;
  /** A new, migrated, empty database. */
  create: (name: string) => Promise<string>;
  stop: () => Promise<void>;
};

/** SQLite files in `dir`, or databases in a throwaway PostgreSQL cluster started like the tests start it. */
export async function openDatabases(dialect: Dialect, dir: string): Promise<Databases> {
  let cluster: Cluster | undefined;
  if (dialect === 'postgres') cluster = await startCluster();
  const created: string[] = [];
  return {
    dialect,
    async create(name) {
      let url: string;
      if (cluster) {
        await withClient(cluster.url, (c) => c.query(`create database ${name}`));
        url = cluster.url.replace(/\/[^/]*$/, `/${name}`);
      } else {
        url = `sqlite:${join(dir, `${name}.db`)}`;
      }
      created.push(url);
      await withOrm(url, async () => {});
      return url;
    },
    async stop() {
      cluster?.stop();
      for (const url of created) {
        if (!isPostgres(url)) for (const suffix of ['', '-wal', '-shm']) rmSync(url.slice('sqlite:'.length) + suffix, { force: true });
      }
    },
  };
}

/** Opens (and migrates) the database for one piece of work, then closes it so the app has it to itself. */
export async function withOrm<T>(url: string, work: (orm: Orm) => Promise<T>): Promise<T> {
  const orm = await openDatabase(url);
  try {
    await migrate(orm, url);
    return await work(orm);
  } finally {
    await orm.close();
  }
}

// The tables as the bulk inserts see them: SQLite keeps datetimes as integer epoch ms (STACK-NOTES §1).
type When = Date | number;
type BenchDb = {
  user: {
    id: number; username: string; email: string; password_hash: string; credential_version: number;
    created_at: When; updated_at: When;
  };
  password_reset_token: { user_id: number; token_hash: string; expires_at: When; created_at: When };
  post: {
    id: number; author_id: number; title: string; body: string; excerpt: string; created_at: When; updated_at: When;
    html: string; rendered_with: number; status: string; published_at: When; slug: string;
  };
};

/** A datetime written the way MikroORM writes it: epoch ms on SQLite, timestamptz on Postgres. */
function when(url: string, date: Date): When {
  return isPostgres(url) ? date : date.getTime();
}

export const BENCH_PASSWORD = 'bench correct horse battery';
export const emailOf = (i: number) => `u${String(i).padStart(7, '0')}@bench.test`;
/** An address of the same length and shape that no account uses. */
export const unknownEmailOf = (i: number) => `x${String(i).padStart(7, '0')}@bench.test`;

const BATCH = 1_000;

/** Inserts users `first`…`first + count - 1`, all with the same (precomputed) password hash, in one transaction. */
export async function insertUsers(url: string, first: number, count: number, passwordHash: string): Promise<void> {
  const at = when(url, new Date());
  await withOrm(url, (orm) =>
    orm.em.fork().transactional(async (tx) => {
      const db = tx.getKysely<BenchDb>();
      for (let start = first; start < first + count; start += BATCH) {
        const rows = [];
        for (let i = start; i < Math.min(start + BATCH, first + count); i++) {
          rows.push({
            id: i, username: `u${String(i).padStart(7, '0')}`, email: emailOf(i), password_hash: passwordHash,
            credential_version: 1, created_at: at, updated_at: at,
          });
        }
        await db.insertInto('user').values(rows).execute();
      }
      // Postgres's serial does not see explicit ids; keep it ahead of them for the app's own inserts.
      if (isPostgres(url)) await tx.getConnection().execute(`select setval('user_id_seq', (select max(id) from "user"))`);
    }),
  );
}

/** Stores a live reset token for each user (as the app would: only its SHA-256) and returns the raw tokens. */
export async function insertResetTokens(url: string, userIds: number[]): Promise<string[]> {
  const now = new Date();
  const expires = new Date(now.getTime() + 3600_000);
  const minted = userIds.map(() => mintToken());
  await withOrm(url, (orm) =>
    orm.em.fork().getKysely<BenchDb>()
      .insertInto('password_reset_token')
      .values(userIds.map((user_id, i) => ({
        user_id, token_hash: minted[i].tokenHash, expires_at: when(url, expires), created_at: when(url, now),
      })))
      .execute(),
  );
  return minted.map((m) => m.token);
}

/**
 * Inserts posts 1…`count`, spread over authors 1…`authors` (who must exist), one second apart and
 * ending now, so the newest has the highest id. Each transaction holds 100,000 rows.
 */
const TOPICS = ['ink', 'paper', 'sessions', 'passwords', 'gardens', 'trains', 'coffee', 'rain'];
// Rendered once and filled in per post: the words change, the Markdown's structure does not.
const SAMPLE_BODY = 'Post number NUMBER: a few words of *Markdown* on TOPIC, as a short post would have. Tag tNUMBER.';
const SAMPLE = { body: SAMPLE_BODY, ...renderedBody(SAMPLE_BODY) };

/** Where post `i` (as insertPosts writes it) lives. */
export const benchPostPath = (i: number) => `/posts/${i}-post-${i}-on-${TOPICS[i % TOPICS.length]}`;

export async function insertPosts(url: string, count: number, authors: number): Promise<void> {
  const end = Date.now();
  await withOrm(url, async (orm) => {
    for (let first = 1; first <= count; first += 100 * BATCH) {
      await orm.em.fork().transactional(async (tx) => {
        const db = tx.getKysely<BenchDb>();
        for (let start = first; start < Math.min(first + 100 * BATCH, count + 1); start += BATCH) {
          const rows = [];
          for (let i = start; i < Math.min(start + BATCH, count + 1); i++) {
            const at = when(url, new Date(end - (count - i) * 1000));
            // `t<i>` is a word only this post has (what the search section looks for), the others are shared.
            const topic = TOPICS[i % TOPICS.length];
            const fill = (text: string) => text.replaceAll('NUMBER', String(i)).replaceAll('TOPIC', topic);
            const [body, html, excerpt] = [SAMPLE.body, SAMPLE.html, SAMPLE.excerpt].map(fill);
            const rendered_with = SAMPLE.rendered_with;
            rows.push({
              id: i, author_id: 1 + (i % authors), title: `Post ${i} on ${topic}`, body, excerpt, html, rendered_with,
              status: 'published', published_at: at, slug: `post-${i}-on-${topic}`, created_at: at, updated_at: at,
            });
          }
          await db.insertInto('post').values(rows).execute();
        }
      });
    }
    if (isPostgres(url)) await orm.em.getConnection().execute(`select setval('post_id_seq', (select max(id) from post))`);
  });
}
