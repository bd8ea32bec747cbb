// `npm run test:stress [-- --runs N] [vitest arguments]`: the whole suite while a CPU hog keeps one
// core busy, as on a developer's machine with a build or a video call running. Runs it N times
// (default 1), stops at the first red run, and ends with one line per run: counts and duration.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// vitest's own command, beside its package.json (the package exports no path to it).
const VITEST = fileURLToPath(new URL('vitest.mjs', import.meta.resolve('vitest/package.json')));

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 1;
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a whole number of runs, at least 1');

// One thread spinning forever: one core taken for the whole run, whatever the suite does.
const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
const stopHog = () => hog.kill('SIGKILL');
process.once('exit', stopHog);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const results: string[] = [];
let failed = false;
for (let run = 1; run <= runs && !failed; run++) {
  console.log(`[stress] run ${run} of ${runs}, with a CPU hog (pid ${hog.pid}) on one core`);
  const started = performance.now();
  let output = '';
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [VITEST, 'run', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.once('exit', resolve);
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  const counts = /^tests: .*$/m.exec(output)?.[0] ?? 'no summary line';
  results.push(`[stress] run ${run}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`}; ${counts}; ${seconds} s`);
  failed = code !== 0;
}
stopHog();
console.log(`\n${results.join('\n')}`);
process.exitCode = failed ? 1 : 0;
