// What every benchmark section is given, and what it gives back.
import { join } from 'node:path';
import type { Databases } from './database.ts';
import type { Figures } from '../report.ts';
import { startApp, type App, type Sink } from './processes.ts';

export type Context = {
  databases: Databases;
  sink: Sink;
  /** A scratch folder for this run: SQLite files and the app's logs. */
  dir: string;
  /** One argon2 hash of BENCH_PASSWORD at the configured parameters, reused for every seeded user. */
  passwordHash: string;
  cores: number;
  say: (line: string) => void;
};

/** A row of the printed table: the figure, its value, the target and whether it is met (null: no target). */
export type Row = [figure: string, value: string, target: string, met: boolean | null];

/** Top-level keys for bench-results.json, and rows for the table. */
export type Outcome = { results: Record<string, unknown>; rows: Row[]; figures?: Figures };

export function launchApp(ctx: Context, databaseUrl: string, name: string, probe = true, env?: Record<string, string>): Promise<App> {
  return startApp({ databaseUrl, smtpUrl: ctx.sink.url, logFile: join(ctx.dir, `${name}.log`), probe, cwd: ctx.dir, env });
}

export const fixed = (value: number, digits = 1) => value.toFixed(digits);
