// Starts a throwaway PostgreSQL cluster in a temporary folder, for tests and benchmarks.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { unusedPort } from './ports.ts';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export type Cluster = {
  url: string;
  stop: () => void;
  /** Stops the server (fast: connections are terminated) and leaves it stopped; `start` brings it back. */
  halt: () => void;
  start: () => void;
};

export function postgresAvailable(): boolean {
  return existsSync(join(BIN, 'initdb')) && existsSync(join(BIN, 'pg_ctl'));
}

/** Starts a cluster on a free loopback port; PostgreSQL refuses root, so root runs it as `postgres`. */
export async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'inkwell-pg-'));
  chmodSync(dir, 0o777);
  const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const run = (command: string, args: string[]) => {
    const [bin, ...rest] = [...asPostgres, join(BIN, command), ...args];
    execFileSync(bin, rest, { stdio: 'pipe' });
  };
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  // PostgreSQL cannot bind port 0 and report it, so a port is picked first; if another program takes
  // it before the postmaster binds it, the start fails and is tried again on another: a clash costs a
  // retry, never the run. A restart (`start` after `halt`) reuses the port the cluster had.
  let port = 0;
  const start = () =>
    run('pg_ctl', [
      '-D', data, '-l', join(dir, 'log'), '-w', '-t', '120', 'start',
      '-o', `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
    ]);
  for (let attempt = 1; ; attempt++) {
    port = await unusedPort();
    try {
      start();
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    halt: () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']),
    start,
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}


/** Runs `work` with one connection to `url`, closed afterwards. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
