// The benchmark's child processes: the app (node src/main.ts), a bare Express server and the SMTP sink.
// The load generator (this process) never shares an event loop with a server.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const PROBE = new URL('../child/probe.ts', import.meta.url).href;
const BARE = fileURLToPath(new URL('../child/bare.ts', import.meta.url));
const SINK = fileURLToPath(new URL('../child/sink.ts', import.meta.url));

export const SESSION_SECRET = 'bench-session-secret-0123456789abcdef';
export const APP_BASE_URL = 'https://inkwell.bench';

export type Server = { child: ChildProcess; port: number; origin: string; stop: () => Promise<void> };

/** What the app is run with: production mode, limits and the reset throttle off (every request does its work). */
export function appEnv(port: number, databaseUrl: string, smtpUrl: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    APP_BASE_URL,
    SESSION_SECRET,
    MFA_ENCRYPTION_KEY: 'bench:YmVuY2gtdHdvLXN0ZXAta2V5LTAxMjM0NTY3ODlhYmM=',
    SMTP_URL: smtpUrl,
    RATE_LIMITS: 'off',
    RESET_THROTTLE_SECONDS: '0',
    SIGNUP_THROTTLE_SECONDS: '0',
    SIGN_IN_LINK_THROTTLE_SECONDS: '0',
  };
}

export type AppOptions = {
  databaseUrl: string;
  smtpUrl: string;
  /** The app's log (pino JSON lines) goes here, as it would go to a collector in production. */
  logFile: string;
  /** Preload bench/child/probe.ts: event-loop delay, memory and thread count over IPC. */
  probe?: boolean;
  cwd: string;
  /** Settings over appEnv's, e.g. limits on for a section that measures them. */
  env?: Record<string, string>;
};

export type App = Server & {
  /** From spawning the process to /readyz answering 200. */
  readyMs: number;
  /** Asks the probe to start a new measurement window. */
  resetProbe: () => Promise<void>;
  report: () => Promise<ProbeReport>;
};

export type ProbeReport = {
  event_loop_utilization: number;
  event_loop_active_ms: number;
  main_thread_cpu_ms: number;
  event_loop_delay_ms: { p50: number; p99: number; max: number };
  rss_mb_peak: number;
  threads_at_start: number;
  threads_now: number;
  uv_threadpool_size: string | null;
};

export async function startApp(options: AppOptions): Promise<App> {
  const log = openSync(options.logFile, 'a');
  const logStart = readFileSync(options.logFile, 'utf8').length;
  const args = options.probe ? ['--import', PROBE, MAIN] : [MAIN];
  const since = performance.now();
  // Port 0: the app binds a port the kernel picks and reports it in its "listening" log line.
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { ...appEnv(0, options.databaseUrl, options.smtpUrl), ...options.env },
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  const port = await listeningPort(options.logFile, logStart, child, 60_000);
  const origin = `http://127.0.0.1:${port}`;
  const readyMs = await waitUntilReady(origin, child, 60_000, '/readyz', since);
  const ask = <T>(message: string) => request<T>(child, message);
  return {
    child,
    port,
    origin,
    readyMs,
    stop: () => stopChild(child),
    resetProbe: () => ask<void>('reset'),
    report: () => ask<ProbeReport>('report'),
  };
}

/** A bare Express 5 "hello" server: the yardstick for the app's pages. */
export async function startBare(cwd: string): Promise<Server> {
  const child = spawn(process.execPath, [BARE], {
    cwd,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', PORT: '0' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const { port } = await nextMessage<{ port: number }>(child, (m) => m.type === 'listening', 30_000);
  const origin = `http://127.0.0.1:${port}`;
  await waitUntilReady(origin, child, 30_000, '/');
  return { child, port, origin, stop: () => stopChild(child) };
}

export type Sink = {
  url: string;
  /** Every recipient of every message received so far. */
  recipients: () => Promise<string[]>;
  /**
   * Registers interest in the next message to `to` and resolves once the sink listens for it; the
   * returned promise then gives its arrival time (performance.timeOrigin + now(), ms) or null on timeout.
   */
  expect: (to: string, timeoutMs: number) => Promise<{ arrival: Promise<number | null> }>;
  stop: () => Promise<void>;
};

/** test/support/smtp.ts's sink, in its own process so that parsing mail never runs beside the load generator. */
export async function startSink(): Promise<Sink> {
  const child = spawn(process.execPath, [SINK], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await nextMessage<{ type: 'ready'; url: string }>(child, (m) => m.type === 'ready', 30_000);
  let next = 0;
  return {
    url: ready.url,
    recipients: () => request<string[]>(child, 'recipients'),
    async expect(to, timeoutMs) {
      const id = ++next;
      const arrival = nextMessage<{ id: number; at: number | null }>(child, (m) => m.type === 'arrived' && m.id === id, timeoutMs + 5_000);
      const listening = nextMessage(child, (m) => m.type === 'listening' && m.id === id, 10_000);
      child.send({ type: 'expect', id, to, timeoutMs });
      await listening;
      return { arrival: arrival.then((m) => m.at) };
    },
    stop: () => stopChild(child),
  };
}

let requests = 0;
/** One IPC question to a child that answers `{ type: 'answer', id, value }`. */
function request<T>(child: ChildProcess, question: string): Promise<T> {
  const id = ++requests;
  const answer = nextMessage<{ value: T }>(child, (m) => m.type === 'answer' && m.id === id, 30_000);
  child.send({ type: question, id });
  return answer.then((m) => m.value);
}

type Message = { type: string; id?: number };

function nextMessage<T>(child: ChildProcess, match: (m: Message) => boolean, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no answer from child ${child.pid} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: Message) => {
      if (match(m)) done(null, m as T);
    };
    const onExit = (code: number | null) => done(new Error(`child ${child.pid} exited (${code}) before answering`));
    function done(err: Error | null, value?: T) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value!);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Reads the app's log (from `offset`) until its "Inkwell is listening" line gives the port it bound. */
async function listeningPort(logFile: string, offset: number, child: ChildProcess, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the app exited with code ${child.exitCode} before listening`);
    for (const line of readFileSync(logFile, 'utf8').slice(offset).split('\n')) {
      if (!line.includes('"Inkwell is listening"')) continue;
      return (JSON.parse(line) as { port: number }).port;
    }
    await sleep(5);
  }
  throw new Error(`the app did not report listening within ${timeoutMs} ms`);
}

/** Polls `path` on fresh connections until it answers 200; resolves with the ms since `since`. */
export async function waitUntilReady(
  origin: string,
  child: ChildProcess,
  timeoutMs: number,
  path = '/readyz',
  since = performance.now(),
): Promise<number> {
  const deadline = since + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (performance.now() < deadline) {
    if (exited || child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before it was ready`);
    if ((await statusOf(origin + path)) === 200) return performance.now() - since;
    await sleep(5);
  }
  throw new Error(`${origin}${path} not ready within ${timeoutMs} ms`);
}

function statusOf(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** SIGTERM (the app drains its background work), then SIGKILL if it has not exited within the bound. */
export function stopChild(child: ChildProcess, boundMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), boundMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
