// `npm run bench [-- --db postgres] [-- --only login_flood,scale]`: what users feel, measured side by side.
// Prints a table and writes bench-results.json and bench-report.html. What each figure means: docs/benchmarks.md.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../src/accounts/passwords.ts';
import type { Context, Outcome, Row } from './lib/context.ts';
import { BENCH_PASSWORD, openDatabases, type Dialect } from './lib/database.ts';
import { startSink } from './lib/processes.ts';
import { coldStart } from './sections/cold-start.ts';
import { crash } from './sections/crash.ts';
import { feedXml, search } from './sections/blog.ts';
import { feed } from './sections/feed.ts';
import { forgotFlood } from './sections/forgot-flood.ts';
import { loginFlood } from './sections/login-flood.ts';
import { pages } from './sections/pages.ts';
import { scale } from './sections/scale.ts';
import { emailLinkTiming, forgotTiming, loginTiming, signupTiming } from './sections/timing.ts';
import { topology } from './sections/topology.ts';
import { writeReport, type Figures } from './report.ts';

const SECTIONS: Record<string, (ctx: Context) => Promise<Outcome>> = {
  cold_start_ms: coldStart,
  pages,
  forgot_timing: forgotTiming,
  signup_timing: signupTiming,
  email_link_timing: emailLinkTiming,
  login_timing: loginTiming,
  login_flood: loginFlood,
  forgot_flood: forgotFlood,
  scale,
  crash,
  feed,
  topology,
  feed_xml: feedXml,
  search,
};
const OUT = 'bench-results.json';
const REPORT = 'bench-report.html';

const { values: args } = parseArgs({
  options: { db: { type: 'string', default: 'sqlite' }, only: { type: 'string' } },
});
const dialect = args.db as Dialect;
if (dialect !== 'sqlite' && dialect !== 'postgres') usage(`--db must be sqlite or postgres, not ${args.db}`);
const chosen = args.only ? args.only.split(',').map((name) => name.trim()) : Object.keys(SECTIONS);
for (const name of chosen) if (!SECTIONS[name]) usage(`no section "${name}"`);

const started = performance.now();
const loadAtStart = loadavg()[0];
const say = (line: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);
const dir = mkdtempSync(join(tmpdir(), 'inkwell-bench-'));
const cores = availableParallelism();

say(`Inkwell benchmarks on ${dialect}: ${chosen.join(', ')}`);
const databases = await openDatabases(dialect, dir);
const sink = await startSink();
const ctx: Context = { databases, sink, dir, passwordHash: await hashPassword(BENCH_PASSWORD), cores, say };

const results: Record<string, unknown> = {};
const rows: Row[] = [];
const figures: Figures = {};
let failed = false;
try {
  for (const name of chosen) {
    say(`── ${name}`);
    try {
      const outcome = await SECTIONS[name](ctx);
      Object.assign(results, outcome.results);
      rows.push(...outcome.rows);
      if (outcome.figures?.timing) figures.timing = { ...figures.timing, ...outcome.figures.timing };
      if (outcome.figures?.login_flood) figures.login_flood = outcome.figures.login_flood;
    } catch (err) {
      failed = true;
      results[name] = { error: (err as Error).message };
      rows.push([name, `FAILED: ${(err as Error).message}`, '', false]);
      say(`${name} failed: ${(err as Error).stack}`);
    }
  }
} finally {
  await sink.stop();
  await databases.stop();
  rmSync(dir, { recursive: true, force: true });
}

const seconds = Math.round((performance.now() - started) / 1000);
const about = {
  db: dialect,
  node: process.version,
  // Load averages say how busy the machine was with other work (this run adds its own).
  machine: { cores, model: cpus()[0]?.model ?? 'unknown', arch: process.arch, load_1m: { start: loadAtStart, end: loadavg()[0] } },
  date: new Date().toISOString(),
  bench_seconds: seconds,
};
// A partial run (--only) updates its sections in the last full file of the same database.
const previous = args.only && existsSync(OUT) ? JSON.parse(readFileSync(OUT, 'utf8')) : {};
const merged = previous.db === dialect ? { ...previous, ...about, ...results } : { ...about, ...results };
writeFileSync(OUT, `${JSON.stringify(merged, null, 2)}\n`);
writeReport(REPORT, { title: `Inkwell benchmarks — ${dialect}, Node ${process.version}, ${cores} × ${about.machine.model}, ${about.date}`, rows, figures });

console.log(`\nInkwell benchmarks — ${dialect}, Node ${process.version}, ${cores} × ${about.machine.model}, ${seconds} s\n`);
console.log(table(rows));
const missed = rows.filter((row) => row[3] === false).length;
console.log(`\n${missed === 0 ? 'every target met' : `${missed} target(s) missed`}; wrote ${OUT} and ${REPORT}`);
// A missed target fails the run like a broken section: CI and scripts see it.
process.exit(failed || missed > 0 ? 1 : 0);

function table(lines: Row[]): string {
  const cells = lines.map(([figure, value, target, met]) => [figure, value, target, met === null ? '' : met ? 'ok' : 'MISSED']);
  const header = ['figure', 'value', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...cells.map(line)].join('\n');
}

function usage(problem: string): never {
  console.error(`${problem}\nusage: npm run bench [-- --db sqlite|postgres] [-- --only ${Object.keys(SECTIONS).join(',')}]`);
  process.exit(2);
}
