// Runs the real Inkwell process (node src/main.ts) the way a server or a container does, for deploy tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** A production configuration that passes every start-up check; tests add DATABASE_URL and SMTP_URL. */
export const PRODUCTION_ENV = {
  NODE_ENV: 'production',
  APP_BASE_URL: 'https://inkwell.test',
  SESSION_SECRET: 'a-test-secret-that-is-long-enough-0123456789',
  MFA_ENCRYPTION_KEY: 'k1:3Kq3dC3ojogyrVoK+XcKoqIsKtnNVhpxbFXiANndF9A=',
  // Behind the TLS proxy that production requires: clients below send X-Forwarded-Proto: https.
  TRUST_PROXY: 'loopback',
} as const;

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type AppProcess = {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote so far, stdout then stderr. */
  output: () => string;
  /** The `msg` of every JSON log line so far. */
  messages: () => string[];
  exited: Promise<Exit>;
  /** Sends a signal and resolves when the process has exited. */
  stop: (signal?: NodeJS.Signals) => Promise<Exit>;
};

const running = new Set<ChildProcess>();
// A test that fails half-way must not leave servers behind.
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** Runs `node src/main.ts ARGS` to completion (e.g. `migrate`, or a start that must fail). */
export function runMain(env: Record<string, string>, args: string[] = []): Promise<Exit & { stdout: string; stderr: string }> {
  const child = launch(env, args);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return exitOf(child).then((exit) => ({ ...exit, stdout, stderr }));
}

/**
 * Starts the server on port 0 and resolves once it is listening, with the port it reports in its
 * "Inkwell is listening" line: no port is reserved first, so none can be taken in between.
 */
export async function startApp(env: Record<string, string>): Promise<AppProcess> {
  const child = launch({ ...env, PORT: '0', HOST: '127.0.0.1' }, []);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = exitOf(child);
  // Whole JSON lines only: a chunk can end half-way through one.
  const lines = () =>
    stdout
      .split('\n')
      .slice(0, -1)
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: unknown; port?: unknown });
  const messages = () => lines().map((line) => String(line.msg));
  // Event-driven: each chunk of output is checked as it arrives; no deadline but the test's own.
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const listening = lines().find((line) => line.msg === 'Inkwell is listening');
      if (listening) resolve(Number(listening.port));
    });
    void exited.then((exit) => reject(new Error(`Inkwell exited before listening (${JSON.stringify(exit)}):\n${stdout}${stderr}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => stdout + stderr,
    messages,
    exited,
    stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}

function launch(env: Record<string, string>, args: string[]): ChildProcess {
  // process.execPath is the Node 24 that runs vitest. A fresh working directory keeps a developer's
  // .env (which main.ts would read) out of the test; nothing else is inherited but PATH.
  const cwd = mkdtempSync(join(tmpdir(), 'inkwell-proc-'));
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => rmSync(cwd, { recursive: true, force: true }));
  return child;
}

function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
}

/**
 * A minimal HTTP client holding one session cookie, like one browser, for a process started above.
 * It says it came through the TLS proxy, so production's Secure cookie is set. Pass another
 * client's cookie to carry a session from one instance to another.
 */
export function client(app: { url: string }, cookie = '') {
  async function call(method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = { 'x-forwarded-proto': 'https' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (cookie) headers.cookie = cookie;
    const res = await fetch(app.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const set = res.headers.getSetCookie()[0];
    if (set) cookie = set.split(';')[0];
    const json = res.headers.get('content-type')?.startsWith('application/json');
    const parsed: any = json ? await res.json() : await res.text();
    return { status: res.status, headers: res.headers, body: parsed };
  }
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body: unknown) => call('POST', path, body),
    /** The session cookie this client holds ("name=value"). */
    get cookie() {
      return cookie;
    },
  };
}
