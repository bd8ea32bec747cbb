// PgBouncer and Caddy as deploy/ configures them, started on loopback for the topology test and the
// benchmark: each on its own port, with its own config and files in a temporary folder, never the
// system's (/etc/pgbouncer, /etc/caddy, or services Debian may have started on install).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { until } from './net.ts';
import { unusedPort } from './ports.ts';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
export const PGBOUNCER = '/usr/sbin/pgbouncer';
export const CADDY = '/usr/bin/caddy';

/** What is missing to run the topology ('' when both are installed). */
export function topologyMissing(): string {
  return [PGBOUNCER, CADDY].filter((bin) => !existsSync(bin)).join(' and ');
}

const asPostgres = () => (process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : []);

export type PgBouncer = {
  /** The same database as `directUrl`, through PgBouncer. */
  urlFor: (directUrl: string) => string;
  port: number;
  stop: () => Promise<void>;
};

/**
 * PgBouncer with deploy/pgbouncer/profile.ini (transaction mode, short waits) in front of the
 * Postgres at `adminUrl`; every database there is reachable under its own name.
 */
export async function startPgBouncer(adminUrl: string): Promise<PgBouncer> {
  const server = new URL(adminUrl);
  const dir = mkdtempSync(join(tmpdir(), 'inkwell-pgbouncer-'));
  chmodSync(dir, 0o777);
  // Copied beside the config: the postgres user may not be able to read the worktree.
  copyFileSync(join(DEPLOY, 'pgbouncer/profile.ini'), join(dir, 'profile.ini'));
  writeFileSync(join(dir, 'userlist.txt'), `"${server.username}" ""\n`);
  for (let attempt = 1; ; attempt++) {
    const port = await unusedPort();
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `* = host=${server.hostname} port=${server.port}`,
        '[pgbouncer]',
        `%include ${join(dir, 'profile.ini')}`,
        // Only what differs from the profile: where it listens and logs, and no passwords on loopback.
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${join(dir, 'userlist.txt')}`,
        `logfile = ${join(dir, 'pgbouncer.log')}`,
        `pidfile = ${join(dir, 'pgbouncer.pid')}`,
        '',
      ].join('\n'),
    );
    // PgBouncer refuses to run as root.
    const [bin, ...args] = [...asPostgres(), PGBOUNCER, join(dir, 'pgbouncer.ini')];
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const probeUrl = `postgres://${server.username}@127.0.0.1:${port}${server.pathname}`;
    const ready = await readyOrExited(child, () => canConnect(probeUrl));
    if (ready) {
      // pgbouncer runs under runuser as root: signal it by its own pid, from its pidfile.
      const pid = Number(readFileSync(join(dir, 'pgbouncer.pid'), 'utf8').trim());
      // A test run that dies half-way must not leave it running.
      const kill = () => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      process.once('exit', kill);
      return {
        port,
        urlFor: (directUrl) => {
          const url = new URL(directUrl);
          url.host = `127.0.0.1:${port}`;
          return url.href;
        },
        async stop() {
          process.off('exit', kill);
          process.kill(pid, 'SIGTERM');
          await exited;
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (attempt >= 5) {
      const log = existsSync(join(dir, 'pgbouncer.log')) ? readFileSync(join(dir, 'pgbouncer.log'), 'utf8') : '';
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer did not start:\n${output}\n${log}`);
    }
  }
}

export type Caddy = {
  url: string;
  port: number;
  /** When (epoch ms) Caddy's active health check found `host` not ready, from its own log. */
  healthFailures: (host: string) => number[];
  stop: () => Promise<void>;
};

/** Caddy with deploy/Caddyfile in front of `upstreams` ("127.0.0.1:PORT" each), plain HTTP on loopback. */
export async function startCaddy(upstreams: string[]): Promise<Caddy> {
  const dir = mkdtempSync(join(tmpdir(), 'inkwell-caddy-'));
  for (let attempt = 1; ; attempt++) {
    const port = await unusedPort();
    const child = spawn(CADDY, ['run', '--config', join(DEPLOY, 'Caddyfile'), '--adapter', 'caddyfile'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        // Caddy's storage and autosave in the temporary folder, not the user's home.
        HOME: dir,
        XDG_DATA_HOME: join(dir, 'data'),
        XDG_CONFIG_HOME: join(dir, 'config'),
        INKWELL_SITE: `http://127.0.0.1:${port}`,
        INKWELL_UPSTREAMS: upstreams.join(' '),
        INKWELL_BIND: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const url = `http://127.0.0.1:${port}`;
    const ready = await readyOrExited(child, async () => {
      try {
        await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
        return true;
      } catch {
        return false;
      }
    });
    if (ready) {
      const kill = () => child.kill('SIGKILL');
      process.once('exit', kill);
      return {
        url,
        port,
        healthFailures: (host) =>
          output
            .split('\n')
            .filter((line) => line.includes('health_checker.active') && line.includes(`"host":"${host}"`) && !line.includes('"msg":"host is up"'))
            .map((line) => Math.round((JSON.parse(line) as { ts: number }).ts * 1000)),
        async stop() {
          process.off('exit', kill);
          child.kill('SIGTERM');
          await exited;
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (attempt >= 5) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`caddy did not start:\n${output}`);
    }
  }
}

/** Waits until `check` holds (true) or the process exits (false: e.g. its port was taken meanwhile). */
async function readyOrExited(child: ChildProcess, check: () => Promise<boolean>): Promise<boolean> {
  let gone = false;
  child.once('exit', () => (gone = true));
  await until(async () => gone || (await check()), `${child.spawnfile} to accept connections`);
  return !gone;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
