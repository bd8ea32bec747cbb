// The real Inkwell process with its stdout wired as a test needs (a pipe it may stop reading, a file,
// /dev/full), found ready by asking /healthz rather than by reading its log. For deploy tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { MAIN, type Exit } from './app-process.ts';
import { until } from './net.ts';
import { unusedPort } from './ports.ts';

export type RawApp = {
  url: string;
  child: ChildProcess;
  exited: Promise<Exit>;
  /** Sends SIGTERM and resolves with the exit and the milliseconds it took. */
  terminate: () => Promise<Exit & { ms: number }>;
};

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `node src/main.ts` with stdout and stderr going to `output` ('pipe' or an open fd). Its log
 * may go nowhere readable, so the port cannot be learnt from the "listening" line: one is picked first,
 * and if something else takes it before the app binds it, the app exits and is started again on another.
 */
export async function spawnApp(env: Record<string, string>, output: 'pipe' | number): Promise<RawApp> {
  for (let attempt = 1; ; attempt++) {
    const started = await startOnce(env, output, await unusedPort());
    if (started) return started;
    if (attempt >= 5) throw new Error('Inkwell exited before answering /healthz, five times');
  }
}

async function startOnce(env: Record<string, string>, output: 'pipe' | number, port: number): Promise<RawApp | null> {
  const cwd = mkdtempSync(join(tmpdir(), 'inkwell-proc-'));
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', output, output],
  });
  running.add(child);
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  let gone = false;
  void exited.then(() => (gone = true));
  const ready = await until(async () => gone || fetch(`${url}/healthz`).then((r) => r.ok, () => false), 'Inkwell to answer /healthz', 60_000)
    .then(() => !gone);
  if (!ready) return null;
  return {
    url,
    child,
    exited,
    async terminate() {
      const started = Date.now();
      child.kill('SIGTERM');
      const exit = await exited;
      return { ...exit, ms: Date.now() - started };
    },
  };
}

/** The resident memory of a process, in MiB (Linux). */
export function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

/** Runs `count` requests made by `request(i)`, `concurrency` at a time; returns every status. */
export async function burst(count: number, concurrency: number, request: (i: number) => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) statuses.push(await request(next++));
    }),
  );
  return statuses;
}

