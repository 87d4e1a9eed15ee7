import { describe, expect, it } from 'vitest';
import { delta, histogramQuantile, loadFigures, type MetricsSnapshot, total } from '../../../runtime/bench/metrics-scrape.js';
import { parsePrometheusText } from '../../../runtime/ops/prom-text.js';

/** One process's histogram `h` with cumulative bucket counts at 0.01, 0.05, 0.1 and +Inf. */
function histogram(counts: [number, number, number, number], labels = ''): string {
  const les = ['0.01', '0.05', '0.1', '+Inf'];
  const sep = labels ? `${labels},` : '';
  return les.map((le, i) => `h_bucket{${sep}le="${le}"} ${counts[i]}`).join('\n');
}

const snap = (...texts: string[]): MetricsSnapshot => ({ perTarget: texts.map(parsePrometheusText) });

describe('histogramQuantile over two snapshots', () => {
  it('takes the delta summed over processes and returns the bucket bound that reaches q', () => {
    const before = snap(histogram([100, 100, 100, 100]), histogram([0, 0, 0, 0]));
    // Since then: 50 observations ≤ 10 ms, 49 in (10, 50] ms, 1 in (50, 100] ms, spread over two processes.
    const after = snap(histogram([140, 170, 171, 171]), histogram([10, 29, 29, 29]));
    expect(histogramQuantile(before, after, 'h', 0.5)).toBe(0.01);
    expect(histogramQuantile(before, after, 'h', 0.99)).toBe(0.05);
    expect(histogramQuantile(before, after, 'h', 1)).toBe(0.1);
  });

  it('is null when nothing was observed, and filters by labels', () => {
    const flat = snap(`${histogram([1, 2, 3, 3], 'stage="stored"')}\n${histogram([0, 0, 0, 0], 'stage="delivered"')}`);
    expect(histogramQuantile(flat, flat, 'h', 0.99)).toBeNull();
    const later = snap(`${histogram([1, 2, 3, 3], 'stage="stored"')}\n${histogram([0, 0, 5, 5], 'stage="delivered"')}`);
    expect(histogramQuantile(flat, later, 'h', 0.5, { stage: 'delivered' })).toBe(0.1);
    expect(histogramQuantile(flat, later, 'h', 0.5, { stage: 'stored' })).toBeNull();
  });

  it('reports the last finite bound when the quantile lies beyond it', () => {
    const before = snap(histogram([0, 0, 0, 0]));
    const after = snap(histogram([0, 0, 0, 10]));
    expect(histogramQuantile(before, after, 'h', 0.99)).toBe(0.1);
  });
});

describe('scrape deltas', () => {
  const snap = (...texts: string[]): MetricsSnapshot => ({ perTarget: texts.map(parsePrometheusText) });

  it('sums every process and subtracts before from after', () => {
    const before = snap('imgroup_redis_commands_total{command="get"} 10\nimgroup_redis_roundtrips_total 5', 'imgroup_redis_commands_total{command="get"} 1');
    const after = snap('imgroup_redis_commands_total{command="get"} 30\nimgroup_redis_roundtrips_total 9', 'imgroup_redis_commands_total{command="get"} 11\nimgroup_redis_commands_total{command="set"} 4');
    expect(total(after, 'imgroup_redis_commands_total')).toBe(45);
    expect(delta(before, after, 'imgroup_redis_commands_total')).toBe(34);
    expect(loadFigures(before, after)).toEqual({ redisCommands: 34, redisCommandsByName: { get: 30, set: 4 }, redisCommandsByProcess: [20, 14], redisRoundtrips: 4, cacheHits: null, cacheRequests: null, serverP99Ms: { handedToGates: null, writtenByGate: null }, serverStoredMs: { p50: null, p99: null } });
  });

  it('gives cache figures only when some process exports the cache metric', () => {
    const before = snap('imgroup_logic_session_cache_requests_total{result="hit"} 5\nimgroup_logic_session_cache_requests_total{result="miss"} 5');
    const after = snap('imgroup_logic_session_cache_requests_total{result="hit"} 95\nimgroup_logic_session_cache_requests_total{result="miss"} 15');
    expect(loadFigures(before, after)).toMatchObject({ cacheHits: 90, cacheRequests: 100 });
  });
});
