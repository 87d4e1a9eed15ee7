import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf, bucketUpperMs, LatencyHistogram } from '../../../runtime/bench/latency-histogram.js';

/** Exact nearest-rank percentile of a sample. */
function exact(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] as number;
}

describe('LatencyHistogram', () => {
  it('has no percentiles, mean or max before the first sample', () => {
    const h = new LatencyHistogram();
    expect([h.percentile(50), h.percentile(99), h.mean, h.max, h.count]).toEqual([null, null, null, null, 0]);
  });

  it('gives nearest-rank percentiles within 1 % of the exact ones', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.02, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 400 }), fc.constantFrom(50, 90, 99, 100), (values, p) => {
        const h = new LatencyHistogram();
        for (const v of values) h.record(v);
        const want = exact(values, p);
        const got = h.percentile(p) as number;
        expect(Math.abs(got - want) / want).toBeLessThanOrEqual(0.0101);
      }),
    );
  });

  it('reports the exact extremes: p100 is the max, a single sample is every percentile', () => {
    const h = new LatencyHistogram();
    h.record(12.345);
    expect(h.percentile(1)).toBe(12.345);
    expect(h.percentile(100)).toBe(12.345);
    h.record(3);
    expect(h.percentile(100)).toBe(12.345);
    expect(h.max).toBe(12.345);
    expect(h.mean).toBeCloseTo(7.6725, 6);
  });

  it('merges snapshots from several workers as if it had seen every sample', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) {
      (i % 3 === 0 ? a : b).record(i / 10);
      all.record(i / 10);
    }
    const merged = new LatencyHistogram();
    merged.merge(a.snapshot());
    merged.merge(b.snapshot());
    expect(merged.count).toBe(1000);
    for (const p of [50, 90, 99]) expect(merged.percentile(p)).toBe(all.percentile(p));
    expect(merged.max).toBe(100);
  });

  it('clamps negative (clock skew) and tiny values into the first bucket and skips non-finite ones', () => {
    const h = new LatencyHistogram();
    h.record(-3);
    h.record(0.001);
    h.record(Number.NaN);
    h.record(Number.POSITIVE_INFINITY);
    expect(h.count).toBe(2);
    expect(h.percentile(100)).toBe(0.001);
    expect(bucketOf(-1)).toBe(0);
  });

  it('ignores malformed buckets in an untrusted snapshot', () => {
    const h = new LatencyHistogram();
    h.merge({ buckets: [[-1, 5], [3, -2], [1.5, 1], [1e12, 1], [10, 2]], count: 99, sum: 1, min: 0.1, max: 0.2 });
    expect(h.count).toBe(2);
  });

  it('makes buckets about 1 % wide', () => {
    for (const v of [0.05, 1, 17, 250, 9999]) {
      const b = bucketOf(v);
      expect(bucketUpperMs(b)).toBeGreaterThanOrEqual(v * 0.9999999);
      expect(bucketUpperMs(b - 1)).toBeLessThan(v);
      expect(bucketUpperMs(b) / bucketUpperMs(b - 1)).toBeCloseTo(1.01, 6);
    }
  });
});
