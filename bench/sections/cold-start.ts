// cold_start_ms: from spawning `node src/main.ts` to /readyz answering 200, on an already migrated
// database. Beside it, the CPU the process used to get there: other work on the machine stretches
// the wall time, much less the CPU time.
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { cpuSeconds } from '../lib/cpu.ts';
import { median, round } from '../lib/stats.ts';

// The median of several starts: one start is at the mercy of whatever else the machine is doing.
const RUNS = 7;
const TARGET_MS = 600;

export async function coldStart(ctx: Context): Promise<Outcome> {
  const url = await ctx.databases.create('cold_start');
  const runs: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const app = await launchApp(ctx, url, 'cold_start', false);
    const seconds = cpuSeconds(app.child.pid);
    runs.push(round(app.readyMs, 1));
    if (seconds !== null) cpu.push(round(seconds * 1000, 0));
    await app.stop();
  }
  const ms = round(median(runs), 1);
  const cpuMs = cpu.length ? median(cpu) : null;
  return {
    results: { cold_start_ms: ms, cold_start_min_ms: Math.min(...runs), cold_start_runs_ms: runs, cold_start_cpu_ms: cpuMs },
    rows: [
      [`cold start ms (median of ${RUNS})`, `${fixed(ms, 0)} (runs ${runs.map((r) => r.toFixed(0)).join(', ')})`, `< ${TARGET_MS}`, ms < TARGET_MS],
      ['cold start: CPU ms used until ready (median)', cpuMs === null ? 'n/a' : String(cpuMs), '', null],
    ],
  };
}
