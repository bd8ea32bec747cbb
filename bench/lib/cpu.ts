// CPU time of a child process (user + system), from /proc: a cost per request that other
// work on the machine disturbs far less than a rate does.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** CPU seconds used so far by process `pid`, or null where /proc is not available. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return null;
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** The share of time in which some runnable task waited for a CPU (Linux PSI), since the last call. */
export function cpuPressure(): () => number | null {
  const read = () => {
    if (!existsSync('/proc/pressure/cpu')) return null;
    const some = /^some .* total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return some ? Number(some[1]) : null;
  };
  const startUs = read();
  const startMs = performance.now();
  return () => {
    const endUs = read();
    if (startUs === null || endUs === null) return null;
    return (endUs - startUs) / 1000 / (performance.now() - startMs);
  };
}
