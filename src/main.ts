// Start-up: config → database (migrated) → app → listen; SIGTERM/SIGINT stop it gracefully.
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

// V8's compiled code (and Node's type stripping) of every module loaded from here on is kept on disk,
// so a start after the first skips most of the module loading, its largest cost (docs/benchmarks.md).
// In a folder the installing user owns (NODE_COMPILE_CACHE overrides it), not a shared /tmp; where it
// cannot be written (the container's root-owned /app), Node simply runs without it. Static imports
// would be loaded before this line runs, so the rest of the program is imported below it.
enableCompileCache(process.env.NODE_COMPILE_CACHE ?? fileURLToPath(new URL('../node_modules/.cache/node-compile-cache', import.meta.url)));
// First, before any module can start libuv's thread pool: it sizes the pool.
await import('./thread-pool.ts');
const [{ buildApp }, { ConfigError, loadConfig, withBoundPort }, { migrate, openDatabase }, { within }, { createProcessLogger, describeError }, { Mailer }, { createHttpServer }] =
  await Promise.all([
    import('./app.ts'), import('./config.ts'), import('./db/orm.ts'), import('./deadline.ts'), import('./log.ts'), import('./mail/mailer.ts'),
    import('./web/server.ts'),
  ]);

// A stop ends within this, whatever requests, mail, the database or the log reader do: requests and
// mail get what is left after the last two steps' budgets, closing the database and writing the
// last log lines, each cut off at its budget.
const SHUTDOWN_DEADLINE_MS = 10_000;
const CLOSE_DATABASE_MS = 300;
const FLUSH_LOGS_MS = 200;
const PRUNE_EVERY_MS = 15 * 60_000;

if (existsSync('.env')) process.loadEnvFile('.env');

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  for (const problem of err.problems) console.error(`Configuration error: ${problem}`);
  process.exit(1);
}

const { log, output } = await createProcessLogger(config.env === 'development');
const orm = await openDatabase(config.databaseUrl, { log });
const applied = await migrate(orm, config.databaseUrl);
if (applied.length > 0) log.info({ applied }, 'migrations applied');

if (process.argv[2] === 'migrate') {
  await orm.close();
  await output.flush(1_000);
  process.exit(0);
}

const mailer = new Mailer({ smtpUrl: config.smtpUrl, from: config.mailFrom });
// The port is bound before the app is built, so that with PORT=0 and no APP_BASE_URL every link names
// the port the kernel picked. No request can reach `serve` unset: connections are accepted only after
// the code below has run (buildApp is synchronous, and nothing awaits in between).
let serve: RequestListener | undefined;
// Behind a trusted proxy every connection comes from the proxy: a per-address cap would cap it.
const web = createHttpServer((req, res) => serve!(req, res), log, { capPerAddress: config.trustProxy === undefined });
await web.listen(config.port, config.host);
// The bound port, not the configured one: PORT=0 lets the kernel pick (tests, benchmarks) and the log line reports it.
const { port } = web.server.address() as AddressInfo;
config = withBoundPort(config, port);
const { app, jobs, later, housekeeping } = buildApp({ config, orm, log, mailer });
serve = app;
// Sends queued email and runs accepted requests, including those a crashed instance left behind.
jobs.start();

const pruning = setInterval(() => {
  housekeeping().catch((err: unknown) => log.warn({ error: describeError(err) }, 'pruning expired rows failed'));
}, PRUNE_EVERY_MS);
pruning.unref();

log.info({ url: config.appBaseUrl.href, listening: `${config.host}:${port}`, port, env: config.env }, 'Inkwell is listening');
if (mailer.mailbox) log.info(`no SMTP_URL: emails go to ${new URL('/dev/mailbox', config.appBaseUrl).href}`);

const { drainMs } = config;
let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  const deadline = Date.now() + SHUTDOWN_DEADLINE_MS - CLOSE_DATABASE_MS - FLUSH_LOGS_MS;
  // Nothing below can block the event loop (logging included), so this timer always gets to run.
  const giveUp = setTimeout(() => {
    log.error('stop deadline passed; exiting');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS + 500);
  giveUp.unref();
  // The proxy takes us out of rotation before anything is closed: closing at once lost the request
  // a proxy had just sent on an idle keep-alive connection (one POST per rolling restart).
  if (drainMs > 0) {
    log.info({ signal, drainMs }, 'draining: /readyz answers 503, requests are still served');
    await web.drain(drainMs);
  }
  log.info({ signal }, 'stopping: no new connections, finishing requests and mail');
  const cut = await web.stop(deadline);
  if (cut > 0) log.error({ cut }, 'requests still unanswered at the deadline were cut');
  await later.settle(Math.max(0, deadline - Date.now()));
  // Jobs still running past the deadline are left to their lease: another instance or the next start takes them.
  const left = await jobs.stop(Math.max(0, deadline - Date.now()));
  if (left > 0) log.error({ left }, 'background work still unfinished at the deadline');
  mailer.close();
  await within(orm.close(), CLOSE_DATABASE_MS);
  log.info({ droppedLogLines: output.dropped }, 'stopped');
  // Lines the log reader has not taken by then are lost: a stop never waits on the reader.
  await output.flush(FLUSH_LOGS_MS);
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

