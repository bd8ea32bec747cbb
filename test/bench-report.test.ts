// bench-report.html opens offline: plain SVG, no script, nothing fetched from elsewhere.
import { describe, expect, it } from 'vitest';
import { renderReport } from '../bench/report.ts';

describe('the benchmark report', () => {
  const html = renderReport({
    title: 'Inkwell benchmarks — test',
    rows: [
      ['login_flood: efficiency', '0.84', '>= 0.8', true],
      ['login_flood: /healthz p99 ms', '61.2', '< 50', false],
      ['login_flood: logins/s', '74.1', '', null],
    ],
    figures: {
      timing: { login_timing: { classes: ['unknown email', 'wrong password'], samples: [[40, 41, 42, 43], [41, 42, 43, 44]], t_limit: 4.5, max_abs_t: 1.2 } },
      login_flood: {
        throughput: [{ second: 0, logins: 70 }, { second: 1, logins: 75 }],
        healthz: [{ at_s: 0.1, ms: 3 }, { at_s: 0.2, ms: 9 }],
        healthz_target_ms: 50,
        idle_healthz_p99_ms: 2,
        capacity_per_s: 88,
      },
    },
  });

  it('draws each figure that has a target beside it, the two timing classes overlaid, and the flood over time', () => {
    expect(html).toContain('MISSED');
    expect(html).not.toContain('logins/s</td>'); // a figure without a target is not in the targets table
    expect(html.match(/<polygon /g)).toHaveLength(2);
    expect(html).toContain('logins answered per second');
    expect(html).toContain('/healthz latency during the flood');
    expect(html.match(/<svg /g)!.length).toBeGreaterThanOrEqual(5);
  });

  it('needs nothing from the network and runs no script', () => {
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//i);
  });
});
