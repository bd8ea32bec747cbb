// CI's stand-in for `docker build` and `docker run`, where no Docker engine runs: it follows the
// Dockerfile's steps on this machine (its install command, its COPY lines, its ENV, its user, its
// CMD and HEALTHCHECK, with this dev install's Node 24 standing in for the image's), then checks that
// the result serves in production, sends a reset email, and exits 0 on SIGTERM. `npm run smoke`.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIRM_SUBJECT, confirmationLinkIn, recipients, resetLinkIn, startSmtpSink, tokenOf } from '../support/smtp.ts';
import { freePort } from '../support/net.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP_BASE_URL = 'https://inkwell.example';
// The Dockerfile's WORKDIR; every stage is assumed to work there (checked below).
const WORKDIR = '/app';

class SmokeFailure extends Error {}
const say = (message: string) => console.log(`[smoke] ${message}`);
function check(ok: unknown, message: string): asserts ok {
  if (!ok) throw new SmokeFailure(message);
}

type Stage = { name: string; dir: string; instructions: [string, string][] };

/** The Dockerfile as instructions per stage: continuation lines joined, comments dropped. */
function readDockerfile(context: string): { name: string; instructions: [string, string][] }[] {
  const text = readFileSync(join(context, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const stages: { name: string; instructions: [string, string][] }[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const [, keyword, rest] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    check(keyword, `cannot read Dockerfile line: ${line}`);
    if (keyword.toUpperCase() === 'FROM') {
      const [image, , name] = rest.split(/\s+/);
      check(/^node:24[-.\w]*$/.test(image), `FROM ${image}: expected an official node:24 image`);
      stages.push({ name: name ?? String(stages.length), instructions: [] });
    } else {
      check(stages.length > 0, `${keyword} before FROM`);
      stages.at(-1)!.instructions.push([keyword.toUpperCase(), rest]);
    }
  }
  return stages;
}

function jsonArgv(instruction: string, text: string): string[] {
  let argv: unknown;
  try {
    argv = JSON.parse(text);
  } catch {
    throw new SmokeFailure(`${instruction} must be exec form (a JSON array), got: ${text}`);
  }
  check(Array.isArray(argv) && argv.every((a) => typeof a === 'string'), `${instruction} must be a JSON array of strings`);
  return argv as string[];
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    check(Date.now() < deadline, `timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main(): Promise<void> {
  const imageNode = realpathSync(process.execPath);
  check(process.versions.node.startsWith('24.'), `run me with Node 24 (npm run smoke), not ${process.version}`);
  const tmp = mkdtempSync(join(tmpdir(), 'inkwell-smoke-'));
  chmodSync(tmp, 0o755);
  let app: ChildProcess | undefined;
  let output = '';
  const sink = await startSmtpSink();
  try {
    // The build context: the committed tree, as a fresh clone would have it (no node_modules, no .env, no data).
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const context = join(tmp, 'context');
    mkdirSync(context);
    execFileSync('sh', ['-c', `git archive HEAD | tar -x -C '${context}'`], { cwd: ROOT });
    say(`build context: git archive of ${commit}`);

    // "docker build": each stage in its own folder standing for WORKDIR.
    const stages: Stage[] = readDockerfile(context).map((s, i) => ({ ...s, dir: join(tmp, `stage-${i}`) }));
    const final = stages.at(-1)!;
    const env: Record<string, string> = {};
    let cmd: string[] | undefined;
    let healthcheck: string[] | undefined;
    let user: string | undefined;
    for (const stage of stages) {
      mkdirSync(stage.dir);
      for (const [keyword, rest] of stage.instructions) {
        if (keyword === 'WORKDIR') check(rest === WORKDIR, `WORKDIR ${rest}: the smoke test assumes ${WORKDIR}`);
        else if (keyword === 'COPY') {
          const words = rest.split(/\s+/);
          const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
          const [dest, ...sources] = words.filter((w) => !w.startsWith('--')).reverse();
          for (const source of sources.reverse()) {
            const origin = from === undefined ? join(context, source) : join(stages.find((s) => s.name === from)!.dir, source.replace(`${WORKDIR}/`, ''));
            check(existsSync(origin), `COPY ${source}: not in the ${from ?? 'build context'}`);
            const target = dest.endsWith('/') ? join(stage.dir, dest, source.split('/').at(-1)!) : join(stage.dir, dest);
            mkdirSync(dirname(target), { recursive: true });
            cpSync(origin, target, { recursive: true });
          }
        } else if (keyword === 'RUN') {
          if (/^npm ci\b/.test(rest)) {
            check(rest.includes('--omit=dev'), `RUN ${rest}: the image must install production dependencies only`);
            say(`${stage.name}: RUN ${rest}`);
            // npm's own variables from `npm run smoke` stay out of the install.
            const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
            execFileSync('sh', ['-c', rest], { cwd: stage.dir, env: clean, stdio: ['ignore', 'inherit', 'inherit'] });
          } else {
            // Only the data folder is expected; anything else needs teaching here, not skipping.
            check(rest === 'mkdir /data && chown node:node /data', `RUN ${rest}: the smoke test does not know how to emulate this`);
          }
        } else if (keyword === 'ENV' && stage === final) {
          for (const [, key, value] of rest.matchAll(/(\w+)=(\S+)/g)) env[key] = value;
        } else if (keyword === 'USER' && stage === final) user = rest;
        else if (keyword === 'CMD' && stage === final) cmd = jsonArgv('CMD', rest);
        else if (keyword === 'HEALTHCHECK' && stage === final) healthcheck = jsonArgv('HEALTHCHECK CMD', rest.replace(/^.*?\bCMD\s+/, ''));
      }
    }
    check(cmd && cmd[0] === 'node', `CMD ${JSON.stringify(cmd)}: must run node directly (no npm, no shell as PID 1)`);
    check(healthcheck && healthcheck[0] === 'node', `HEALTHCHECK ${JSON.stringify(healthcheck)}: expected an exec-form node command`);
    check(user && user !== 'root' && user !== '0', `USER ${user ?? '(none)'}: the image must not run as root`);
    check(!existsSync(join(final.dir, 'node_modules', 'node')), 'the `node` devDependency is in the image: the install did not omit dev');
    check(!existsSync(join(final.dir, 'test')) && !existsSync(join(final.dir, '.env')), 'tests or .env were copied into the image');
    // A native package built at install time needed Python and a compiler, which node:24-slim does not have.
    const built = readdirSync(join(final.dir, 'node_modules')).filter((pkg) => existsSync(join(final.dir, 'node_modules', pkg, 'build', 'config.gypi')));
    check(built.length === 0, `the install compiled ${built.join(', ')}: the slim image could not; load prebuilt binaries instead`);
    check(env.DATABASE_URL === 'sqlite:/data/inkwell.db' && env.NODE_ENV === 'production', 'the image must default to production on sqlite:/data');

    // The image's Node: this dev install's Node 24 binary, copied where an unprivileged user can run it.
    const bin = join(tmp, 'image-node-bin');
    mkdirSync(bin);
    copyFileSync(imageNode, join(bin, 'node'));
    chmodSync(join(bin, 'node'), 0o755);
    // /data is the volume; as root we run the app as `nobody` (the image's `node` user does not exist here),
    // which can write nowhere else: in particular not into its own code.
    const data = join(tmp, 'data');
    mkdirSync(data);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chownSync(data, 65534, 65534);
    const runAs = (argv: string[]) => {
      const withNode = [join(bin, 'node'), ...argv.slice(1)];
      return asRoot ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...withNode]] as const : [withNode[0], withNode.slice(1)] as const;
    };

    // "docker run" with the environment a deployment provides; only the port, the loopback address
    // and where /data lives differ from the image's defaults.
    const port = await freePort();
    const runEnv = {
      ...env,
      PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(data, 'inkwell.db')}`,
      SESSION_SECRET: 'smoke-test-session-secret-0123456789abcdef',
      SMTP_URL: sink.url,
      APP_BASE_URL,
    };
    const [command, args] = runAs(cmd);
    say(`docker run ≈ ${asRoot ? 'as nobody: ' : ''}node ${cmd.slice(1).join(' ')} (Node ${process.versions.node}, NODE_ENV=production, ${runEnv.DATABASE_URL})`);
    const started = Date.now();
    app = spawn(command, args, { cwd: final.dir, env: runEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    app.stdout!.on('data', (chunk) => (output += chunk));
    app.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      app!.once('exit', (code, signal) => resolve({ code, signal })),
    );
    let gone = false;
    void exited.then(() => (gone = true));
    const base = `http://127.0.0.1:${port}`;

    await until(async () => {
      check(!gone, 'the app exited during start-up');
      return (await fetch(`${base}/readyz`)).status === 200 ? true : undefined;
    }, '/readyz to answer 200', 30_000);
    say(`/readyz 200 after ${Date.now() - started} ms (migrations applied)`);

    const [hcCommand, hcArgs] = runAs(healthcheck);
    const healthy = await new Promise<number | null>((resolve) =>
      spawn(hcCommand, hcArgs, { env: runEnv, stdio: 'ignore' }).once('exit', (code) => resolve(code)),
    );
    check(healthy === 0, `the HEALTHCHECK command exited ${healthy} while the app was up`);
    say('HEALTHCHECK command exits 0');

    for (const path of ['/', '/login', '/register', '/forgot-password', '/healthz']) {
      const { status } = await fetch(base + path, { redirect: 'manual' });
      check(status === 200, `GET ${path} answered ${status}, expected 200`);
    }
    const mailbox = await fetch(`${base}/dev/mailbox`, { redirect: 'manual' });
    check(mailbox.status === 404, `GET /dev/mailbox answered ${mailbox.status}: the dev outbox must not exist in production`);
    say('pages /, /login, /register, /forgot-password answer 200; /dev/mailbox 404');

    // argon2, the database and SMTP, all from the production install.
    const json = { 'content-type': 'application/json' };
    const email = 'smoke@example.com';
    const registered = await fetch(`${base}/api/users`, {
      method: 'POST', headers: json, body: JSON.stringify({ username: 'smoke', email, password: 'a smoke test passphrase' }),
    });
    check(registered.status === 202, `POST /api/users answered ${registered.status}: ${await registered.text()}`);
    const confirmation = await sink.waitFor((m) => recipients(m).includes(email) && m.subject === CONFIRM_SUBJECT).catch((err: Error) => {
      throw new SmokeFailure(`no sign-up confirmation email: ${err.message}`);
    });
    const confirmed = await fetch(`${base}/api/users/confirm`, {
      method: 'POST', headers: json, body: JSON.stringify({ token: tokenOf(confirmationLinkIn(confirmation)) }),
    });
    check(confirmed.status === 201, `POST /api/users/confirm answered ${confirmed.status}: ${await confirmed.text()}`);
    const forgot = await fetch(`${base}/api/users/forgot-password`, { method: 'POST', headers: json, body: JSON.stringify({ email }) });
    check(forgot.status === 202, `POST /api/users/forgot-password answered ${forgot.status}`);
    const mail = await sink.waitFor((m) => recipients(m).includes(email) && m.subject === 'Reset your Inkwell password').catch((err: Error) => {
      throw new SmokeFailure(`no reset email: ${err.message}`);
    });
    check(resetLinkIn(mail).startsWith(`${APP_BASE_URL}/reset-password?token=`), 'the reset link does not use APP_BASE_URL');
    say('signed up through the emailed link and received a reset email over SMTP');

    const stopping = Date.now();
    app.kill('SIGTERM');
    const exit = await Promise.race([
      exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new SmokeFailure('still running 15 s after SIGTERM')), 15_000)),
    ]);
    check(exit.code === 0, `exit after SIGTERM: ${JSON.stringify(exit)}, expected code 0`);
    check(output.includes('"msg":"stopped"'), 'no "stopped" log line: the graceful stop did not finish');
    check(existsSync(join(data, 'inkwell.db')), 'the SQLite database is not in the /data volume');
    say(`SIGTERM → exit 0 in ${Date.now() - stopping} ms`);

    const unhealthy = await new Promise<number | null>((resolve) =>
      spawn(hcCommand, hcArgs, { env: runEnv, stdio: 'ignore' }).once('exit', (code) => resolve(code)),
    );
    check(unhealthy !== 0, 'the HEALTHCHECK command still exits 0 with the app stopped: it checks nothing');
    say('PASSED: the production install serves and stops cleanly');
  } catch (err) {
    if (output) console.error(`[smoke] app output:\n${output.trimEnd()}`);
    throw err;
  } finally {
    if (app && app.exitCode === null && app.signalCode === null) app.kill('SIGKILL');
    await sink.stop();
    if (!process.env.KEEP_SMOKE) rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  console.error(`[smoke] FAILED: ${err instanceof SmokeFailure ? err.message : (err as Error).stack}`);
  process.exit(1);
}
