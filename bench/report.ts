// bench-report.html: the figures people would rather look at than read, drawn as plain SVG in one
// self-contained file (no script, no CDN: it opens offline, from disk or from a CI artifact).
import { writeFileSync } from 'node:fs';
import type { Row } from './lib/context.ts';
import { percentile } from './lib/stats.ts';

export type Figures = {
  timing?: Record<string, { classes: [string, string]; samples: [number[], number[]]; t_limit: number; max_abs_t: number }>;
  login_flood?: {
    throughput: { second: number; logins: number }[];
    healthz: { at_s: number; ms: number }[];
    healthz_target_ms: number;
    idle_healthz_p99_ms: number;
    /** Logins per second if every core did nothing but argon2. */
    capacity_per_s: number;
  };
};

const W = 640;
const H = 240;
const PAD = { left: 56, right: 16, top: 16, bottom: 40 };
const COLOURS = ['#2563eb', '#dc2626'];

export function writeReport(path: string, report: { title: string; rows: Row[]; figures: Figures }): void {
  writeFileSync(path, renderReport(report));
}

export function renderReport({ title, rows, figures }: { title: string; rows: Row[]; figures: Figures }): string {
  const sections: string[] = [];
  sections.push(`<h2>Figures beside their targets</h2>${targetTable(rows)}`);
  for (const [name, timing] of Object.entries(figures.timing ?? {})) {
    sections.push(
      `<h2>${esc(name)}: answer times of the two classes, overlaid</h2>
       <p>If the two shapes can be told apart, the answer's timing tells whether an account exists. Welch's max |t| = ${timing.max_abs_t.toFixed(2)}
       (target &lt; ${timing.t_limit}). Cropped at the 1st and 99th percentiles.</p>
       ${histogram(timing.classes, timing.samples)}`,
    );
  }
  const flood = figures.login_flood;
  if (flood) {
    sections.push(
      `<h2>login_flood: logins answered per second</h2>
       <p>The dashed line is what the cores could do if they did nothing but argon2 (${flood.capacity_per_s.toFixed(1)} logins/s).</p>
       ${lineChart(flood.throughput.map((p) => [p.second + 0.5, p.logins]), { x: 'seconds into the flood', y: 'logins/s', target: flood.capacity_per_s, from0: true })}`,
      `<h2>login_flood: /healthz latency during the flood</h2>
       <p>One probe every 50 ms on its own connection. The dashed line is the p99 target (${flood.healthz_target_ms} ms); with the app idle,
       p99 was ${flood.idle_healthz_p99_ms.toFixed(1)} ms in the same run.</p>
       ${lineChart(flood.healthz.map((p) => [p.at_s, p.ms]), { x: 'seconds into the flood', y: 'ms', target: flood.healthz_target_ms, from0: true, dots: true })}`,
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1f2937; }
  table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #e5e7eb; }
  .missed { color: #b91c1c; font-weight: 600; } .ok { color: #15803d; }
  svg text { font-size: 11px; fill: #4b5563; } .legend span { display: inline-block; margin-right: 1.5rem; }
  .swatch { display: inline-block; width: 0.8rem; height: 0.8rem; margin-right: 0.3rem; vertical-align: -0.1rem; }
</style></head>
<body><h1>${esc(title)}</h1>
<p>Written by <code>npm run bench</code> beside bench-results.json; what each figure means is in docs/benchmarks.md.</p>
${sections.join('\n')}
</body></html>
`;
}

/** The rows that have a target, each with a bar: the value, and a mark where the target lies. */
function targetTable(rows: Row[]): string {
  const lines = rows
    .filter(([, , target]) => target !== '')
    .map(([figure, value, target, met]) => {
      const bar = targetBar(value, target);
      const verdict = met === null ? '' : met ? '<span class="ok">met</span>' : '<span class="missed">MISSED</span>';
      return `<tr><td>${esc(figure)}</td><td>${esc(value)}</td><td>${esc(target)}</td><td>${bar}</td><td>${verdict}</td></tr>`;
    });
  return `<table><thead><tr><th>figure</th><th>value</th><th>target</th><th></th><th></th></tr></thead><tbody>${lines.join('')}</tbody></table>`;
}

function targetBar(value: string, target: string): string {
  const v = Number.parseFloat(value);
  const t = Number.parseFloat(target.replace(/^[<>=\s]+/, ''));
  if (!Number.isFinite(v) || !Number.isFinite(t)) return '';
  const width = 160;
  const scale = width / (Math.max(Math.abs(v), t) * 1.25 || 1);
  const good = target.trim().startsWith('<') ? Math.abs(v) < t : Math.abs(v) >= t;
  return `<svg width="${width}" height="14" role="img" aria-label="${esc(value)} against ${esc(target)}">
    <rect x="0" y="2" width="${(Math.abs(v) * scale).toFixed(1)}" height="10" fill="${good ? '#86efac' : '#fca5a5'}"/>
    <line x1="${(t * scale).toFixed(1)}" x2="${(t * scale).toFixed(1)}" y1="0" y2="14" stroke="#111827" stroke-width="2"/></svg>`;
}

function histogram(classes: [string, string], samples: [number[], number[]]): string {
  const all = [...samples[0], ...samples[1]];
  if (all.length === 0) return '<p>No samples.</p>';
  const lo = percentile(all, 1);
  const hi = percentile(all, 99);
  const bins = 60;
  const size = (hi - lo) / bins || 1;
  const densities = samples.map((values) => {
    const counts = new Array<number>(bins).fill(0);
    for (const v of values) if (v >= lo && v <= hi) counts[Math.min(bins - 1, Math.floor((v - lo) / size))]++;
    return counts.map((c) => c / Math.max(1, values.length));
  });
  const top = Math.max(...densities.flat()) || 1;
  const x = (ms: number) => PAD.left + ((ms - lo) / (hi - lo || 1)) * (W - PAD.left - PAD.right);
  const y = (d: number) => H - PAD.bottom - (d / top) * (H - PAD.top - PAD.bottom);
  const shapes = densities.map((counts, i) => {
    const points = [`${x(lo)},${y(0)}`];
    counts.forEach((d, bin) => points.push(`${x(lo + bin * size)},${y(d)}`, `${x(lo + (bin + 1) * size)},${y(d)}`));
    points.push(`${x(hi)},${y(0)}`);
    return `<polygon points="${points.join(' ')}" fill="${COLOURS[i]}" fill-opacity="0.25" stroke="${COLOURS[i]}" stroke-width="1.5"/>`;
  });
  const legend = classes
    .map((name, i) => `<span><span class="swatch" style="background:${COLOURS[i]}"></span>${esc(name)}: median ${percentile(samples[i], 50).toFixed(3)} ms, n = ${samples[i].length}</span>`)
    .join('');
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="Two overlaid histograms of answer times">
    ${axes(lo, hi, 0, top, 'ms', 'share of requests', (v) => v.toFixed(2), (v) => `${(v * 100).toFixed(0)}%`)}${shapes.join('')}</svg>
    <p class="legend">${legend}</p>`;
}

function lineChart(points: [number, number][], o: { x: string; y: string; target?: number; from0?: boolean; dots?: boolean }): string {
  if (points.length === 0) return '<p>No samples.</p>';
  const xs = points.map(([px]) => px);
  const ys = points.map(([, py]) => py);
  const x0 = Math.min(0, ...xs);
  const x1 = Math.max(...xs) || 1;
  const y0 = o.from0 ? 0 : Math.min(...ys);
  const y1 = Math.max(...ys, o.target ?? 0) * 1.1 || 1;
  const x = (v: number) => PAD.left + ((v - x0) / (x1 - x0 || 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - ((v - y0) / (y1 - y0 || 1)) * (H - PAD.top - PAD.bottom);
  const line = `<polyline points="${points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ')}" fill="none" stroke="${COLOURS[0]}" stroke-width="${o.dots ? 0.8 : 2}"/>`;
  const dots = o.dots ? points.map(([px, py]) => `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="1.8" fill="${COLOURS[0]}"/>`).join('') : '';
  const target = o.target === undefined ? '' : `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(o.target)}" y2="${y(o.target)}" stroke="${COLOURS[1]}" stroke-dasharray="6 4"/>`;
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(o.y)} over ${esc(o.x)}">
    ${axes(x0, x1, y0, y1, o.x, o.y, (v) => v.toFixed(0), (v) => v.toFixed(v < 10 ? 1 : 0))}${target}${line}${dots}</svg>`;
}

function axes(x0: number, x1: number, y0: number, y1: number, xLabel: string, yLabel: string, fx: (v: number) => string, fy: (v: number) => string): string {
  const parts: string[] = [];
  const left = PAD.left;
  const bottom = H - PAD.bottom;
  parts.push(`<line x1="${left}" x2="${W - PAD.right}" y1="${bottom}" y2="${bottom}" stroke="#9ca3af"/>`);
  parts.push(`<line x1="${left}" x2="${left}" y1="${PAD.top}" y2="${bottom}" stroke="#9ca3af"/>`);
  for (let i = 0; i <= 4; i++) {
    const xv = x0 + ((x1 - x0) * i) / 4;
    const xp = left + ((W - PAD.left - PAD.right) * i) / 4;
    parts.push(`<text x="${xp}" y="${bottom + 14}" text-anchor="middle">${esc(fx(xv))}</text>`);
    const yv = y0 + ((y1 - y0) * i) / 4;
    const yp = bottom - ((H - PAD.top - PAD.bottom) * i) / 4;
    parts.push(`<text x="${left - 6}" y="${yp + 4}" text-anchor="end">${esc(fy(yv))}</text>`);
    if (i > 0) parts.push(`<line x1="${left}" x2="${W - PAD.right}" y1="${yp}" y2="${yp}" stroke="#f3f4f6"/>`);
  }
  parts.push(`<text x="${(left + W - PAD.right) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(`<text x="12" y="${(PAD.top + bottom) / 2}" transform="rotate(-90 12 ${(PAD.top + bottom) / 2})" text-anchor="middle">${esc(yLabel)}</text>`);
  return parts.join('');
}

const esc = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
