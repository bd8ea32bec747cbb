// Start-up: config → database (migrated) → app → listen; SIGTERM/SIGINT stop it gracefully.
// First, before any module can start libuv's thread pool: it sizes the pool.
import './thread-pool.ts';
import type { Server, ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { migrate, openDatabase } from './db/orm.ts';
import { createLogger } from './log.ts';
import { Mailer } from './mail/mailer.ts';

// How long a stop waits for requests and mail still in flight before closing anyway.
const SHUTDOWN_DEADLINE_MS = 10_000;
const PRUNE_EVERY_MS = 15 * 60_000;

if (existsSync('.env')) process.loadEnvFile('.env');

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`Configuration error: ${err.message}`);
  process.exit(1);
}

const log = createLogger();
const orm = await openDatabase(config.databaseUrl);
const applied = await migrate(orm, config.databaseUrl);
if (applied.length > 0) log.info({ applied }, 'migrations applied');

if (process.argv[2] === 'migrate') {
  await orm.close();
  process.exit(0);
}

const mailer = new Mailer({ smtpUrl: config.smtpUrl, from: config.mailFrom });
const { app, sessions, accounts, jobs } = buildApp({ config, orm, log, mailer });
// Sends queued email and runs accepted requests, including those a crashed instance left behind.
jobs.start();

const pruning = setInterval(() => {
  Promise.all([sessions.pruneExpired(), accounts.deleteExpiredResetTokens(), accounts.deleteExpiredSignups()]).catch((err: Error) =>
    log.warn({ error: { message: err.message } }, 'pruning expired rows failed'),
  );
}, PRUNE_EVERY_MS);
pruning.unref();

const server: Server = app.listen(config.port, config.host, () => {
  log.info({ url: config.appBaseUrl.href, listening: `${config.host}:${config.port}`, env: config.env }, 'Inkwell is listening');
  if (mailer.outbox) log.info(`no SMTP_URL: emails go to ${new URL('/dev/mailbox', config.appBaseUrl).href}`);
});

// Answers being written. A keep-alive client would hold its connection (and so the stop) open until
// its idle timeout; told `Connection: close`, it lets go as soon as its answer is out.
const answering = new Set<ServerResponse>();
let stopping = false;
server.on('request', (_req, res: ServerResponse) => {
  if (stopping) return closeAfterAnswer(res);
  answering.add(res);
  res.once('close', () => answering.delete(res));
});

function closeAfterAnswer(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}

async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping: no new connections, finishing requests and mail');
  const deadline = Date.now() + SHUTDOWN_DEADLINE_MS;
  // A request or a mail server that hangs must not keep us from exiting before the orchestrator's SIGKILL.
  const giveUp = setTimeout(() => {
    log.error('stop deadline passed; exiting');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS + 2_000);
  giveUp.unref();
  for (const res of answering) closeAfterAnswer(res);
  // Stops listening at once and closes idle keep-alive connections; resolves when the last answer is out.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  // Jobs still running past the deadline are left to their lease: another instance or the next start takes them.
  const left = await jobs.stop(Math.max(0, deadline - Date.now()));
  if (left > 0) log.error({ left }, 'background work still unfinished at the deadline');
  mailer.close();
  await orm.close();
  log.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
