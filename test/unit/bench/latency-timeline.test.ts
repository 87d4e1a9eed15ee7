import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../../runtime/bench/latency-histogram.js';
import { LatencyTimeline } from '../../../runtime/bench/latency-timeline.js';

const T0 = 1_765_000_000_000; // an epoch ms on a second boundary

/** `perSecond[i]` latencies sent in second i, spread over that second. */
function timeline(perSecond: number[][]): { t: LatencyTimeline; all: LatencyHistogram } {
  const t = new LatencyTimeline();
  const all = new LatencyHistogram();
  perSecond.forEach((values, s) =>
    values.forEach((v, i) => {
      t.record(T0 + s * 1000 + (i * 997) / values.length, v);
      all.record(v);
    }),
  );
  return { t, all };
}

describe('LatencyTimeline', () => {
  it('gives per-second figures numbered from the run’s first second', () => {
    const { t } = timeline([[1, 2, 3], [], [10, 20]]);
    const f = t.figures(null);
    expect(f.bySecond).toEqual([
      { second: 0, deliveries: 3, p50: expect.closeTo(2, 1), p99: 3, max: 3 },
      { second: 2, deliveries: 2, p50: expect.closeTo(10, 0), p99: 20, max: 20 },
    ]);
    expect(f.worst).toBeNull();
  });

  it('puts deliveries that arrive out of send order in their own seconds', () => {
    const t = new LatencyTimeline();
    for (const [second, ms] of [[0, 1], [1, 50], [0, 2], [1, 60], [0, 3]] as const) t.record(T0 + second * 1000 + 10, ms);
    expect(t.figures(null).bySecond).toEqual([
      { second: 0, deliveries: 3, p50: expect.closeTo(2, 1), p99: 3, max: 3 },
      { second: 1, deliveries: 2, p50: expect.closeTo(50, 0), p99: 60, max: 60 },
    ]);
  });

  it('names the second that holds most of the deliveries slower than the run’s p99, and its share of them', () => {
    // 10 quiet seconds of 100 deliveries at 5 ms, then one second whose 100 deliveries are slow.
    const seconds = Array.from({ length: 10 }, () => Array.from({ length: 100 }, () => 5));
    seconds.splice(3, 0, [...Array.from({ length: 80 }, () => 5), ...Array.from({ length: 20 }, (_, i) => 100 + i)]);
    const { t, all } = timeline(seconds);
    const p99 = all.percentile(99);
    const worst = t.figures(p99).worst;
    expect(worst).toMatchObject({ second: 3, deliveries: 100, max: 119 });
    // Every delivery above the run's p99 was sent in second 3.
    expect(worst?.slowestShare).toBe(1);
  });

  it('gives a share near 1 / seconds when the tail is spread evenly', () => {
    const seconds = Array.from({ length: 4 }, () => [...Array.from({ length: 990 }, () => 5), ...Array.from({ length: 10 }, (_, i) => 50 + i)]);
    const { t, all } = timeline(seconds);
    const worst = t.figures(all.percentile(99)).worst;
    expect(worst?.slowestShare).toBeGreaterThanOrEqual(0.25);
    expect(worst?.slowestShare).toBeLessThan(0.5);
  });

  it('merges workers’ timelines by absolute second and skips malformed entries', () => {
    const a = timeline([[1], [2]]).t;
    const b = timeline([[3], [4], [5]]).t;
    const merged = new LatencyTimeline();
    merged.merge(a.snapshot());
    merged.merge(b.snapshot());
    merged.merge([[1.5, { buckets: [[1, 1]], count: 1, sum: 1, min: 1, max: 1 }]]);
    expect(merged.figures(null).bySecond.map((x) => [x.second, x.deliveries])).toEqual([
      [0, 2],
      [1, 2],
      [2, 1],
    ]);
  });

  it('keeps at most maxSeconds seconds', () => {
    const t = new LatencyTimeline(2);
    for (let s = 0; s < 5; s++) t.record(T0 + s * 1000, 1);
    expect(t.figures(null).bySecond).toHaveLength(2);
  });
});

describe('LatencyHistogram.countAbove', () => {
  it('counts the samples a percentile ranks above, with the percentile’s own bucket excluded', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 100; i++) h.record(i);
    const p99 = h.percentile(99) as number;
    expect(h.countAbove(p99)).toBe(1);
    expect(h.countAbove(h.percentile(90) as number)).toBe(10);
    expect(h.countAbove(1000)).toBe(0);
  });
});
