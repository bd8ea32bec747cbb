// Summary statistics and the leakage test (Welch's t on raw and cropped samples, after dudect).

export function sorted(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** The p-th percentile (0–100) of already sorted values, by linear interpolation. */
export function percentileOf(ascending: ArrayLike<number>, p: number): number {
  if (ascending.length === 0) return NaN;
  const rank = (p / 100) * (ascending.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return ascending[low] + (ascending[high] - ascending[low]) * (rank - low);
}

export function percentile(values: number[], p: number): number {
  return percentileOf(sorted(values), p);
}

export const median = (values: number[]) => percentile(values, 50);

export function mean(values: number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

function variance(values: number[], m = mean(values)): number {
  let sum = 0;
  for (const v of values) sum += (v - m) ** 2;
  return sum / (values.length - 1);
}

/** Welch's t statistic for two samples of possibly different sizes and variances. */
export function welchT(a: number[], b: number[]): number {
  if (a.length < 2 || b.length < 2) return NaN;
  const ma = mean(a);
  const mb = mean(b);
  const se = Math.sqrt(variance(a, ma) / a.length + variance(b, mb) / b.length);
  return se === 0 ? 0 : (ma - mb) / se;
}

// dudect crops at thresholds 1 - 0.5^(10(i+1)/N) of the pooled samples; N = 20 gives 29.3% … 99.9%.
const CROPS = Array.from({ length: 20 }, (_, i) => 100 * (1 - 0.5 ** ((10 * (i + 1)) / 20)));
// A cropped test with fewer samples than this in a class says little; it is left out of the maximum.
const MIN_SAMPLES_PER_TEST = 100;

export type LeakTest = {
  /** Largest |t| over the raw test and every crop. dudect: above 4.5, probably a leak; above 10, certainly. */
  max_abs_t: number;
  raw_t: number;
  /** Second-order test (squared deviation from the class mean), as dudect adds; not in max_abs_t. */
  second_order_t: number;
  worst_crop_percentile: number | null;
  n: [number, number];
  median_ms: [number, number];
  tests: { crop_percentile: number | null; t: number; n: [number, number] }[];
};

/** dudect's analysis of two classes of timings: Welch's t on the raw samples and on percentile crops. */
export function leakTest(a: number[], b: number[]): LeakTest {
  const pooled = sorted([...a, ...b]);
  const tests: LeakTest['tests'] = [{ crop_percentile: null, t: welchT(a, b), n: [a.length, b.length] }];
  for (const p of CROPS) {
    const limit = percentileOf(pooled, p);
    const ca = a.filter((v) => v < limit);
    const cb = b.filter((v) => v < limit);
    if (ca.length < MIN_SAMPLES_PER_TEST || cb.length < MIN_SAMPLES_PER_TEST) continue;
    tests.push({ crop_percentile: round(p, 1), t: welchT(ca, cb), n: [ca.length, cb.length] });
  }
  let worst = tests[0];
  for (const test of tests) if (Math.abs(test.t) > Math.abs(worst.t)) worst = test;
  const ma = mean(a);
  const mb = mean(b);
  return {
    max_abs_t: round(Math.abs(worst.t), 2),
    raw_t: round(tests[0].t, 2),
    second_order_t: round(welchT(a.map((v) => (v - ma) ** 2), b.map((v) => (v - mb) ** 2)), 2),
    worst_crop_percentile: worst.crop_percentile,
    n: [a.length, b.length],
    median_ms: [round(median(a), 3), round(median(b), 3)],
    tests: tests.map((t) => ({ ...t, t: round(t.t, 2) })),
  };
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
