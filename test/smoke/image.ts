// `npm run image`: builds the Dockerfile for real with podman, on a stand-in for
// node:24-bookworm-slim (no registry is reachable here), then starts the built image's filesystem the
// way a container runtime would: as the image's USER, with its ENV, WORKDIR, ENTRYPOINT and CMD read
// from `podman image inspect` (never from the Dockerfile), as PID 1 of its own PID namespace. It checks
// that the result serves in production, sends a reset email, passes the image's own HEALTHCHECK, writes
// nothing outside /data, holds no dev dependencies, tests, bench or .git, and exits 0 on its STOPSIGNAL.
//
// Why not `podman run`: crun and runc both fail here to set RLIMIT_NOFILE/RLIMIT_NPROC; the recipe and
// its pitfalls are in docs/container.md. Needs root, podman, debootstrap and util-linux's unshare.
//
// Everything it keeps lives in its own podman storage under $XDG_CACHE_HOME/inkwell-image (or
// /var/cache/inkwell-image), never in the machine's own: the stand-in base, cached under a key that
// changes with its recipe, with the Node binary and npm it copies in. Everything else (the built image,
// its container, the mounts, the build context) is removed at the end, and whatever a killed run left
// behind is removed at the start of the next one.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync,
  realpathSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recipients, startSmtpSink, type Sink } from '../support/smtp.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STATE = join(process.env.XDG_CACHE_HOME || '/var/cache', 'inkwell-image');
const PODMAN_ROOT = ['--root', join(STATE, 'storage'), '--runroot', '/run/inkwell-image'];
const BASE_NAME = 'docker.io/library/node:24-bookworm-slim';
const STANDIN_REPO = 'localhost/inkwell-standin';
const BUILT = `localhost/inkwell-check:${process.pid}`;
const CONTAINER = `inkwell-check-${process.pid}`;
const APP_BASE_URL = 'https://inkwell.example';
// Generous for a loaded 2-core machine; each is a deadline for an event, not a wait.
const START_DEADLINE_MS = 120_000;
const STOP_DEADLINE_MS = 15_000;

class ImageFailure extends Error {}
const say = (message: string) => console.log(`[image] ${message}`);
function check(ok: unknown, message: string): asserts ok {
  if (!ok) throw new ImageFailure(message);
}
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

/** Runs a host command to completion; its output is returned, or shown when it fails. */
function run(file: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; inherit?: boolean } = {}): string {
  try {
    return execFileSync(file, args, {
      encoding: 'utf8', input: options.input, env: options.env, maxBuffer: 64 << 20,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', options.inherit ? 'inherit' : 'pipe', options.inherit ? 'inherit' : 'pipe'],
    });
  } catch (err) {
    const { stderr, stdout, status } = err as { stderr?: string; stdout?: string; status?: number };
    const why = options.inherit ? `exited ${status}; its output is above` : `failed:\n${stderr || stdout || (err as Error).message}`;
    throw new ImageFailure(`${file} ${args.join(' ')} ${why}`.trimEnd());
  }
}
const podman = (...args: string[]) => run('podman', [...PODMAN_ROOT, ...args]).trim();

// ---------------------------------------------------------------------------------------------
// One run at a time per cache, and whatever a killed run left behind goes first.

const LOCK = join(STATE, 'lock');
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('image.ts');
  } catch {
    return false;
  }
};

async function lock(): Promise<void> {
  mkdirSync(STATE, { recursive: true });
  let told = false;
  for (const deadline = Date.now() + 30 * 60_000; ; ) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(LOCK, 'utf8'));
    if (!alive(holder)) {
      rmSync(LOCK, { force: true });
      continue;
    }
    check(Date.now() < deadline, `another npm run image (pid ${holder}) has held ${LOCK} for 30 minutes`);
    if (!told) say(`waiting for another npm run image (pid ${holder}) to finish`);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function unlock(): void {
  if (existsSync(LOCK) && readFileSync(LOCK, 'utf8') === String(process.pid)) rmSync(LOCK);
}

/** Deletes a scratch folder, refusing if anything is still mounted under it (a bound /dev, say). */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  const real = realpathSync(dir);
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point) => point && (point === real || point.startsWith(`${real}/`)));
  check(mounted.length === 0, `refusing to delete ${dir}: still mounted there: ${mounted.join(', ')}`);
  run('rm', ['-rf', '--one-file-system', real]);
}

/**
 * Kills every process started in an image by a run that `owned` says is over. Only a SIGKILL to the
 * namespace's PID 1 is sure to end them all: the parent-death signal that would have done it on its
 * own does not survive the switch to the image's uid. They carry HOSTNAME=inkwell-check-<run's pid>.
 */
async function killImageProcesses(owned: (run: number) => boolean): Promise<number[]> {
  const killed: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
    } catch {
      continue; // gone already
    }
    const run = /(?:^|\0)HOSTNAME=inkwell-check-(\d+)(?:\0|$)/.exec(environ)?.[1];
    if (run && owned(Number(run))) {
      try {
        process.kill(Number(entry), 'SIGKILL');
        killed.push(Number(entry));
      } catch {
        // exited meanwhile
      }
    }
  }
  const deadline = Date.now() + 10_000;
  while (killed.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  return killed;
}

/** Under the lock nothing else uses this storage: every container, and every image but the stand-in, is stale. */
async function sweep(): Promise<void> {
  const orphans = await killImageProcesses((run) => run !== process.pid && !alive(run));
  if (orphans.length) say(`killed processes an interrupted run left running in its image: ${orphans.join(', ')}`);
  const containers = podman('ps', '--all', '--format', '{{.ID}}').split('\n').filter(Boolean);
  if (containers.length) podman('rm', '--force', '--volumes', ...containers);
  const stale = podman('images', '--format', '{{.Repository}}:{{.Tag}}')
    .split('\n').filter((name) => name && name.startsWith('localhost/inkwell-check:'));
  if (stale.length) podman('rmi', '--force', ...stale);
  podman('image', 'prune', '--force');
  for (const entry of readdirSync(STATE)) if (entry.startsWith('scratch-')) removeTree(join(STATE, entry));
  if (containers.length || stale.length) say(`removed what an interrupted run left: ${[...containers, ...stale].join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// The stand-in for node:24-bookworm-slim: Debian bookworm, this install's Node 24 and npm, a `node`
// user (uid/gid 1000, home /home/node), and the official image's entrypoint script, ENV and CMD.

/** The official image's docker-entrypoint.sh, as it is in docker-library/node for bookworm-slim. */
const ENTRYPOINT_SCRIPT = `#!/bin/sh
set -e

# Run command with node if the first argument contains a "-" or is not a system command. The last
# part inside the "{}" is a workaround for the following bug in ash/dash:
# https://bugs.debian.org/cgi-bin/bugreport.cgi?bug=874264
if [ "\${1#-}" != "\${1}" ] || [ -z "$(command -v "\${1}")" ] || { [ -f "\${1}" ] && ! [ -x "\${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"
`;

/** The Debian mirror apt already uses here (a deb822 or one-line source), so debootstrap needs no other network. */
function debianMirror(): string {
  const sources = ['/etc/apt/sources.list', ...readdirSync('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f))]
    .filter((f) => /\.(list|sources)$/.test(f) && existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const mirror = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(sources)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+bookworm\b/m.exec(sources)?.[1];
  return process.env.INKWELL_DEBIAN_MIRROR || mirror || 'http://deb.debian.org/debian';
}

function npmDir(): string {
  const cli = process.env.npm_execpath;
  check(cli && /npm-cli\.js$/.test(cli), 'run me through npm (npm run image), so I know which npm to put in the stand-in');
  return realpathSync(join(dirname(cli), '..'));
}

function makeBase(rootfs: string, nodeBinary: string, npm: string, mirror: string, extraCa: string | undefined): void {
  // In its own mount namespace: the /proc and /sys debootstrap mounts vanish with it, even if it is killed.
  // libatomic1 is the one package the official image keeps beside Debian's slim base.
  run('setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--propagation', 'private', 'debootstrap', '--variant=minbase', '--include=libatomic1', 'bookworm', rootfs, mirror]);
  copyFileSync(nodeBinary, join(rootfs, 'usr/local/bin/node'));
  chmodSync(join(rootfs, 'usr/local/bin/node'), 0o755);
  cpSync(npm, join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
  writeFileSync(join(rootfs, 'usr/local/bin/docker-entrypoint.sh'), ENTRYPOINT_SCRIPT, { mode: 0o755 });
  // The network here passes through a CA of its own, which this machine names in NODE_EXTRA_CA_CERTS.
  // npm in the build trusts it through npm's own built-in config file, in the base and never in
  // Inkwell's layers; the app does not read it.
  if (extraCa) {
    mkdirSync(join(rootfs, 'usr/local/share/inkwell-standin'), { recursive: true });
    copyFileSync(extraCa, join(rootfs, 'usr/local/share/inkwell-standin/ca.crt'));
    writeFileSync(join(rootfs, 'usr/local/lib/node_modules/npm/npmrc'), 'cafile=/usr/local/share/inkwell-standin/ca.crt\n');
  }
  // The official image's own commands for its user.
  run('chroot', [rootfs, 'groupadd', '--gid', '1000', 'node']);
  run('chroot', [rootfs, 'useradd', '--uid', '1000', '--gid', 'node', '--shell', '/bin/bash', '--create-home', 'node']);
  // debian:bookworm-slim keeps no package lists, apt caches, docs or man pages.
  for (const dir of ['var/lib/apt/lists', 'var/cache/apt', 'usr/share/doc', 'usr/share/man', 'var/log']) {
    for (const entry of readdirSync(join(rootfs, dir))) rmSync(join(rootfs, dir, entry), { recursive: true, force: true });
  }
}

/** The stand-in's image name, building it unless this exact recipe with this Node and npm is cached. */
function standIn(): { name: string; cached: boolean; ms: number } {
  const started = Date.now();
  const nodeBinary = realpathSync(process.execPath);
  const npm = npmDir();
  const npmVersion = JSON.parse(readFileSync(join(npm, 'package.json'), 'utf8')).version as string;
  const mirror = debianMirror();
  const extraCa = process.env.NODE_EXTRA_CA_CERTS && existsSync(process.env.NODE_EXTRA_CA_CERTS) ? realpathSync(process.env.NODE_EXTRA_CA_CERTS) : undefined;
  const key = createHash('sha256')
    .update(makeBase.toString()).update(ENTRYPOINT_SCRIPT).update(standIn.toString())
    .update(createHash('sha256').update(readFileSync(nodeBinary)).digest('hex'))
    .update(npmVersion).update(mirror).update(extraCa ? readFileSync(extraCa) : '')
    .digest('hex').slice(0, 16);
  const name = `${STANDIN_REPO}:${key}`;
  let cached = true;
  if (!imageExists(name)) {
    cached = false;
    say(`stand-in base ${key}: debootstrap bookworm from ${mirror}, Node ${process.versions.node}, npm ${npmVersion}`);
    const rootfs = join(STATE, `scratch-rootfs-${process.pid}`);
    removeTree(rootfs);
    makeBase(rootfs, nodeBinary, npm, mirror, extraCa);
    const changes = [
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `ENV NODE_VERSION=${process.versions.node}`,
      'ENTRYPOINT ["docker-entrypoint.sh"]',
      'CMD ["node"]',
    ].flatMap((change) => ['--change', change]);
    const quoted = (words: string[]) => words.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(' ');
    run('bash', ['-o', 'pipefail', '-c', `tar -C ${quoted([rootfs])} --numeric-owner -c . | podman ${quoted([...PODMAN_ROOT, 'import', ...changes, '-', name])}`]);
    removeTree(rootfs);
    // Older stand-ins (another recipe, another Node) go; their cache key can no longer come back.
    const older = podman('images', '--format', '{{.Repository}}:{{.Tag}}', STANDIN_REPO).split('\n').filter((n) => n && n !== name);
    if (older.length) podman('rmi', '--force', ...older);
  }
  podman('tag', name, BASE_NAME);
  return { name, cached, ms: Date.now() - started };
}

function imageExists(name: string): boolean {
  try {
    execFileSync('podman', [...PODMAN_ROOT, 'image', 'exists', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The build context: the working tree as a fresh clone with your edits would hold it (tracked and
// untracked files, nothing git ignores), so .dockerignore and the Dockerfile are tested as written.

function buildContext(dir: string): string {
  const files = run('git', ['-C', ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard']).split('\0').filter(Boolean);
  for (const file of files) {
    const from = join(ROOT, file);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), join(dir, file));
    else copyFileSync(from, join(dir, file));
  }
  const commit = run('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).trim();
  const dirty = run('git', ['-C', ROOT, 'status', '--porcelain']).trim() !== '';
  return `${commit}${dirty ? ' with uncommitted changes' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// What `podman image inspect` says the image is.

type ImageConfig = {
  User?: string; Env?: string[]; WorkingDir?: string; Entrypoint?: string[] | null; Cmd?: string[] | null;
  StopSignal?: string; Volumes?: Record<string, unknown>;
};
type HealthConfig = { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
type Inspected = { Config: ImageConfig & { Healthcheck?: HealthConfig }; Healthcheck?: HealthConfig; Size: number };

function inspect(name: string): Inspected {
  return (JSON.parse(podman('image', 'inspect', name)) as Inspected[])[0];
}

type Account = { uid: number; gid: number; home: string };

/** USER as the runtime resolves it: a name or uid[:gid], looked up in the image's own /etc/passwd and /etc/group. */
function resolveUser(rootfs: string, user: string): Account {
  const passwd = readFileSync(join(rootfs, 'etc/passwd'), 'utf8').split('\n').map((l) => l.split(':'));
  const groups = readFileSync(join(rootfs, 'etc/group'), 'utf8').split('\n').map((l) => l.split(':'));
  const [name, group] = user.split(':');
  const entry = passwd.find((p) => p[0] === name || p[2] === name);
  check(entry || /^\d+$/.test(name), `USER ${user}: no such user in the image's /etc/passwd`);
  const uid = Number(entry?.[2] ?? name);
  const gid = group === undefined ? Number(entry?.[3] ?? 0) : Number(groups.find((g) => g[0] === group)?.[2] ?? group);
  const extra = groups.filter((g) => (g[3] ?? '').split(',').includes(entry?.[0] ?? '')).map((g) => g[0]);
  // unshare --setgid drops supplementary groups; a runtime would add these.
  check(extra.length === 0, `USER ${user} belongs to more groups (${extra.join(', ')}) than this check can give it`);
  return { uid, gid, home: entry?.[5] ?? '/' };
}

// ---------------------------------------------------------------------------------------------
// Starting a process in the image: PID 1 of a new PID namespace, in a private mount namespace with the
// host's /dev and a fresh /proc, root switched to the container's mounted filesystem, as USER, in
// WORKDIR. The network is the host's. Its mounts vanish with its namespace; its processes are killed
// at the end of the run, or by the next run if this one was killed (killImageProcesses).

function startInImage(rootfs: string, account: Account, workdir: string, argv: string[], env: Record<string, string>): ChildProcess {
  const inside = ['unshare', `--root=${rootfs}`, `--wd=${workdir}`, '--setgid', String(account.gid), '--setuid', String(account.uid), '--', ...argv];
  return spawn('setpriv', [
    '--pdeathsig', 'KILL', '--',
    'unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child=KILL', '--',
    '/bin/sh', '-c', 'mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" && exec "$@"', rootfs, ...inside,
  ], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The host pid of the namespace's PID 1, once `unshare --fork` has started it. */
function pidOne(launcher: ChildProcess): number | undefined {
  try {
    const children = readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    const unshare = Number(children[0]); // setpriv exec'd unshare, whose one child is PID 1
    return Number.isInteger(unshare) && unshare > 0 ? unshare : undefined;
  } catch {
    return undefined;
  }
}

function finished(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch((err) => {
      if (err instanceof ImageFailure) throw err;
      return undefined;
    });
    if (value !== undefined) return value;
    check(Date.now() < deadline, `timed out after ${seconds(timeoutMs)} waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// ---------------------------------------------------------------------------------------------
// Checks of the image's filesystem.

function checkContents(rootfs: string, workdir: string): void {
  const app = join(rootfs, workdir);
  for (const unwanted of ['test', 'bench', '.git', '.ci', '.env', 'data', 'docs', 'package-lock.json', 'bench-results.json']) {
    check(!existsSync(join(app, unwanted)), `${workdir}/${unwanted} is in the image`);
  }
  // The lock file says which packages are dev-only: none may be installed, every production one must be.
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
  const installed = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
  const dev = installed.filter(([path, p]) => p.dev && existsSync(join(app, path))).map(([path]) => path);
  check(dev.length === 0, `dev dependencies in the image: ${dev.slice(0, 10).join(', ')}${dev.length > 10 ? ', …' : ''}`);
  const missing = installed.filter(([path, p]) => !p.dev && !p.optional && !existsSync(join(app, path))).map(([path]) => path);
  check(missing.length === 0, `production dependencies missing from the image: ${missing.slice(0, 10).join(', ')}`);
  // A native package built at install time needed Python and a compiler, which node:24-slim does not have.
  const built = installed.filter(([path]) => existsSync(join(app, path, 'build', 'config.gypi'))).map(([path]) => path);
  check(built.length === 0, `the install compiled ${built.join(', ')}: the slim image could not; load prebuilt binaries instead`);
  say(`contents: ${workdir} has ${readdirSync(app).sort().join(', ')}; ${installed.filter(([, p]) => !p.dev).length} production packages, no dev ones, nothing compiled`);
}

/** Every file or folder the user may write, from the modes in the image (not /proc or /dev, which are the runtime's). */
function writableBy(rootfs: string, account: Account): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    const stat = lstatSync(join(rootfs, path));
    if (stat.isSymbolicLink()) return;
    const mode = stat.mode;
    const writable = (stat.uid === account.uid && mode & 0o200) || (stat.gid === account.gid && mode & 0o020) || mode & 0o002;
    if (writable && (stat.isDirectory() || stat.isFile())) found.push(path || '/');
    if (stat.isDirectory()) for (const entry of readdirSync(join(rootfs, path))) {
      const child = `${path}/${entry}`;
      if (!['/proc', '/dev', '/sys'].includes(child)) walk(child);
    }
  };
  walk('');
  return found;
}

// ---------------------------------------------------------------------------------------------

const cleanups: (() => void | Promise<void>)[] = [];

async function main(): Promise<void> {
  check(process.getuid?.() === 0, 'npm run image needs root (podman, chroot and mounts); CI runs as root');
  check(process.versions.node.startsWith('24.'), `run me with Node 24 (npm run image), not ${process.version}`);
  for (const tool of ['podman', 'debootstrap', 'unshare', 'setpriv', 'chroot', 'tar']) {
    check(run('sh', ['-c', `command -v ${tool} || true`]).trim(), `${tool} is missing: apt-get install -y podman debootstrap`);
  }
  const began = Date.now();
  await lock();
  cleanups.push(unlock);
  await sweep();

  const base = standIn();
  say(`stand-in base ${base.cached ? 'cached' : 'built'} in ${seconds(base.ms)}: ${base.name}, tagged ${BASE_NAME}`);

  // The build: podman with chroot isolation (the default fails on this kernel's hybrid cgroups) and the
  // docker format (the OCI format drops HEALTHCHECK).
  // Under STATE, so that the next run removes it if this one is killed.
  const scratch = join(STATE, `scratch-${process.pid}`);
  mkdirSync(scratch);
  cleanups.push(() => removeTree(scratch));
  const context = join(scratch, 'context');
  mkdirSync(context);
  const described = buildContext(context);
  const buildArgs = ['build', '--pull=never', '--isolation=chroot', '--format', 'docker', '--layers=false', '--tag', BUILT];
  say(`podman build of ${described}`);
  cleanups.push(() => {
    if (imageExists(BUILT)) podman('rmi', '--force', BUILT);
    podman('image', 'prune', '--force');
  });
  const building = Date.now();
  run('podman', [...PODMAN_ROOT, ...buildArgs, context], { inherit: true });
  const buildMs = Date.now() - building;

  const image = inspect(BUILT);
  const baseSize = inspect(base.name).Size;
  const config = image.Config;
  const health = config.Healthcheck ?? image.Healthcheck;
  say(`built in ${seconds(buildMs)}: ${megabytes(image.Size)} (stand-in base ${megabytes(baseSize)} + Inkwell ${megabytes(image.Size - baseSize)})`);

  const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  const workdir = config.WorkingDir || '/';
  const env = Object.fromEntries((config.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  check(config.User && !['root', '0'].includes(config.User.split(':')[0]), `USER ${config.User || '(none)'}: the image must not run as root`);
  check(argv.length > 0, 'the image has no ENTRYPOINT or CMD');
  check(env.NODE_ENV === 'production' && env.DATABASE_URL === 'sqlite:/data/inkwell.db', `the image must default to production on sqlite:/data, its ENV is ${JSON.stringify(env)}`);
  check(config.Volumes && '/data' in config.Volumes, 'the image declares no /data volume');
  check(health?.Test && health.Test[0] !== 'NONE', `the image has no HEALTHCHECK: ${JSON.stringify(health)}`);
  const healthArgv = health.Test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', health.Test[1]] : health.Test.slice(1);
  const healthTimeoutMs = (health.Timeout ?? 30e9) / 1e6;
  say(`image config: USER ${config.User}, WORKDIR ${workdir}, ${JSON.stringify(argv)}, STOPSIGNAL ${config.StopSignal ?? 'SIGTERM'}, HEALTHCHECK every ${(health.Interval ?? 30e9) / 1e9} s, timeout ${healthTimeoutMs / 1000} s`);

  podman('create', '--name', CONTAINER, BUILT);
  cleanups.push(() => void podman('rm', '--force', '--volumes', CONTAINER));
  cleanups.push(async () => void (await killImageProcesses((run) => run === process.pid)));
  const rootfs = podman('mount', CONTAINER);
  const account = resolveUser(rootfs, config.User);

  checkContents(rootfs, workdir);
  const dataStat = statSync(join(rootfs, 'data'));
  check(dataStat.uid === account.uid, `/data is owned by uid ${dataStat.uid}, not by the image's user (${account.uid})`);
  // Scratch space every Debian image gives every user, and the user's own home; nothing else, and
  // nothing of the app's own code. What the app actually wrote is checked with podman diff below.
  const scratchDirs = ['/tmp', '/var/tmp', '/run/lock', '/var/lock', account.home];
  const writable = writableBy(rootfs, account);
  const outside = writable.filter((p) => p !== '/data' && !p.startsWith('/data/') && !scratchDirs.includes(p) && !p.startsWith(`${account.home}/`));
  check(outside.length === 0, `the image's user may write outside /data: ${outside.slice(0, 20).join(', ')}`);
  const shown = writable.filter((p) => p !== '/data' && !p.startsWith('/data/') && !writable.some((q) => p.startsWith(`${q}/`)));
  say(`uid ${account.uid} may write only /data and ${shown.join(', ')} (scratch, and its home)`);

  // Run it, with what a deployment provides: only PORT (0: the kernel picks a free one, since the
  // network is the host's, and the "listening" line reports it) and the secrets and mail server.
  const sink: Sink = await startSmtpSink();
  cleanups.push(() => sink.stop());
  const runEnv: Record<string, string> = {
    HOME: account.home, HOSTNAME: CONTAINER, // what a runtime adds
    ...env,
    PORT: '0',
    SESSION_SECRET: 'image-check-session-secret-0123456789abcdef',
    MFA_ENCRYPTION_KEY: 'k1:aW1hZ2UtY2hlY2stdHdvLXN0ZXAta2V5LTAxMjM0NTY=',
    SMTP_URL: sink.url,
    APP_BASE_URL,
  };
  const started = Date.now();
  const app = startInImage(rootfs, account, workdir, argv, runEnv);
  let output = '';
  app.stdout!.on('data', (chunk) => (output += chunk));
  app.stderr!.on('data', (chunk) => (output += chunk));
  const exited = finished(app);
  let gone = false;
  void exited.then(() => (gone = true));
  let url = '';
  try {
    const port = await until(async () => {
      check(!gone, 'the app exited during start-up');
      return /"msg":"Inkwell is listening".*?"port":(\d+)|"port":(\d+).*?"msg":"Inkwell is listening"/.exec(output)?.slice(1).find(Boolean);
    }, 'the "Inkwell is listening" line', START_DEADLINE_MS);
    url = `http://127.0.0.1:${port}`;
    // The image's HEALTHCHECK reads PORT; a runtime would have set the real one.
    runEnv.PORT = port;
    await until(async () => {
      check(!gone, 'the app exited during start-up');
      return (await fetch(`${url}/readyz`)).status === 200 ? true : undefined;
    }, '/readyz to answer 200', START_DEADLINE_MS);
    say(`/readyz 200 after ${seconds(Date.now() - started)} (migrations applied)`);

    // PID 1 must be node itself (the entrypoint exec'd it), or the stop signal would reach a shell.
    const pid = pidOne(app);
    check(pid, 'cannot find the container\'s PID 1');
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const nspid = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1].trim().split(/\s+/).at(-1);
    check(command[0]?.split('/').at(-1) === 'node' && nspid === '1', `PID 1 in the container is ${JSON.stringify(command)} (pid ${nspid} in its namespace), not node`);
    say(`PID 1 in its PID namespace is ${command.join(' ')}`);

    const healthcheck = async () => {
      const probe = startInImage(rootfs, account, workdir, healthArgv, runEnv);
      const begun = Date.now();
      const deadline = setTimeout(() => probe.kill('SIGKILL'), Math.max(healthTimeoutMs, 60_000));
      const { code } = await finished(probe);
      clearTimeout(deadline);
      return { code, ms: Date.now() - begun };
    };
    const healthy = await healthcheck();
    check(healthy.code === 0, `the image's HEALTHCHECK exited ${healthy.code} while the app was up`);
    say(`the image's HEALTHCHECK passes (${seconds(healthy.ms)}${healthy.ms > healthTimeoutMs ? `: more than its ${healthTimeoutMs / 1000} s timeout, on this loaded machine` : ''})`);

    for (const path of ['/', '/login', '/register', '/forgot-password', '/healthz']) {
      const { status } = await fetch(url + path, { redirect: 'manual' });
      check(status === 200, `GET ${path} answered ${status}, expected 200`);
    }
    // The stylesheet and scripts every page links to: public/ and htmx from node_modules.
    const assets = [...(await (await fetch(`${url}/login`)).text()).matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((m) => m[1]);
    check(assets.length > 0, 'the login page links no /static/ assets');
    for (const path of assets) {
      const { status } = await fetch(url + path);
      check(status === 200, `GET ${path} answered ${status}, expected 200`);
    }
    const mailbox = await fetch(`${url}/dev/mailbox`, { redirect: 'manual' });
    check(mailbox.status === 404, `GET /dev/mailbox answered ${mailbox.status}: the dev outbox must not exist in production`);
    say(`pages /, /login, /register, /forgot-password and ${assets.join(', ')} answer 200; /dev/mailbox 404`);

    // argon2, the database and SMTP, all from the image's install.
    const json = { 'content-type': 'application/json' };
    const email = 'image@example.com';
    const registered = await fetch(`${url}/api/users`, {
      method: 'POST', headers: json, body: JSON.stringify({ username: 'imagecheck', email, password: 'an image check passphrase' }),
    });
    if (registered.status === 202) {
      // Sign-up confirmed by email: the account exists once its link is followed.
      const mail = await sink.waitFor((m) => recipients(m).includes(email), 30_000);
      const token = /\/register\/confirm\?token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
      check(token, `no confirmation link in the sign-up email "${mail.subject}"`);
      const confirmed = await fetch(`${url}/api/users/confirm`, { method: 'POST', headers: json, body: JSON.stringify({ token, password: 'an image check passphrase' }) });
      check(confirmed.ok, `POST /api/users/confirm answered ${confirmed.status}`);
    } else {
      check(registered.status === 201, `POST /api/users answered ${registered.status}: ${await registered.text()}`);
    }
    const forgot = await fetch(`${url}/api/users/forgot-password`, { method: 'POST', headers: json, body: JSON.stringify({ email }) });
    check(forgot.status === 202, `POST /api/users/forgot-password answered ${forgot.status}`);
    const reset = await sink.waitFor((m) => recipients(m).includes(email) && /reset-password\?token=/.test(m.text ?? ''), 30_000)
      .catch((err: Error) => { throw new ImageFailure(`no reset email: ${err.message}`); });
    check((reset.text ?? '').includes(`${APP_BASE_URL}/reset-password?token=`), 'the reset link does not use APP_BASE_URL');
    say('registered an account and received its reset email over SMTP');

    const stopSignal = (config.StopSignal ?? 'SIGTERM') as NodeJS.Signals;
    const stopping = Date.now();
    process.kill(pid, stopSignal);
    const exit = await Promise.race([
      exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new ImageFailure(`still running ${seconds(STOP_DEADLINE_MS)} after ${stopSignal}`)), STOP_DEADLINE_MS)),
    ]);
    check(exit.code === 0, `exit after ${stopSignal}: ${JSON.stringify(exit)}, expected code 0`);
    check(output.includes('"msg":"stopped"'), 'no "stopped" log line: the graceful stop did not finish');
    say(`${stopSignal} to PID 1 → exit 0 in ${seconds(Date.now() - stopping)}`);

    const unhealthy = await healthcheck();
    check(unhealthy.code !== 0, 'the HEALTHCHECK still exits 0 with the app stopped: it checks nothing');
    say('the HEALTHCHECK fails once the app is gone');
  } catch (err) {
    if (output) console.error(`[image] app output:\n${output.trimEnd()}`);
    throw err;
  }

  // What the app wrote, from the container's own layer: only its database, in /data.
  const db = statSync(join(rootfs, 'data/inkwell.db'));
  check(db.uid === account.uid, `/data/inkwell.db is owned by uid ${db.uid}`);
  const changed = podman('diff', CONTAINER).split('\n').filter(Boolean).map((line) => line.trim().split(/\s+/)[1]);
  const stray = changed.filter((path) => path !== '/data' && !path.startsWith('/data/'));
  check(stray.length === 0, `the app wrote outside /data: ${stray.join(', ')}`);
  say(`the app wrote only ${changed.join(', ')}`);
  say(`PASSED in ${seconds(Date.now() - began)}: the image builds, serves, passes its HEALTHCHECK and stops cleanly`);
}

async function cleanUp(): Promise<void> {
  for (const step of cleanups.reverse().splice(0)) {
    try {
      await step();
    } catch (err) {
      console.error(`[image] cleanup: ${(err as Error).message}`);
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.error(`[image] ${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(1));
  });
}

try {
  await main();
  await cleanUp();
} catch (err) {
  console.error(`[image] FAILED: ${err instanceof ImageFailure ? err.message : (err as Error).stack}`);
  await cleanUp();
  process.exit(1);
}
