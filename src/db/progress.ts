// Progress of long database work, for a person watching: a bar on a terminal, plain lines otherwise
// (a CI log or a file gets one line per tenth, not a stream of carriage returns).

export type Progress = (event: { table: string; step: 'read' | 'write'; done: number; total: number }) => void;

const WIDTH = 30;

export function progressTo(stream: NodeJS.WriteStream): Progress {
  const tty = Boolean(stream.isTTY);
  let lastTenth = -1;
  let lastDrawn = 0;
  let current = '';
  return ({ table, step, done, total }) => {
    const key = `${table} ${step}`;
    if (key !== current) {
      current = key;
      lastTenth = -1;
    }
    const fraction = total === 0 ? 1 : done / total;
    const finished = done >= total;
    const label = `${table.padEnd(22)} ${step === 'read' ? 'reading' : 'writing'}`;
    const counts = `${done.toLocaleString('en')} / ${total.toLocaleString('en')} rows`;
    if (tty) {
      // Redrawn at most ten times a second, and always at the end of a table.
      const now = performance.now();
      if (!finished && now - lastDrawn < 100) return;
      lastDrawn = now;
      const filled = Math.round(fraction * WIDTH);
      const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled);
      stream.write(`\r${label} ${bar} ${String(Math.floor(fraction * 100)).padStart(3)}%  ${counts}\x1b[K${finished ? '\n' : ''}`);
    } else {
      const tenth = Math.floor(fraction * 10);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      stream.write(`${label} ${String(tenth * 10).padStart(3)}%  ${counts}\n`);
    }
  };
}
