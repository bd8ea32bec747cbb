// cold_start_ms: from spawning `node src/main.ts` to /readyz answering 200, on an already migrated database.
import { fixed, launchApp, type Context, type Outcome } from '../lib/context.ts';
import { median, round } from '../lib/stats.ts';

// The median of several starts: one start is at the mercy of whatever else the machine is doing.
const RUNS = 7;
const TARGET_MS = 600;

export async function coldStart(ctx: Context): Promise<Outcome> {
  const url = await ctx.databases.create('cold_start');
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const app = await launchApp(ctx, url, 'cold_start', false);
    runs.push(round(app.readyMs, 1));
    await app.stop();
  }
  const ms = round(median(runs), 1);
  return {
    results: { cold_start_ms: ms, cold_start_min_ms: Math.min(...runs), cold_start_runs_ms: runs },
    rows: [[`cold start ms (median of ${RUNS})`, `${fixed(ms, 0)} (runs ${runs.map((r) => r.toFixed(0)).join(', ')})`, `< ${TARGET_MS}`, ms < TARGET_MS]],
  };
}
