import { describe, expect, it } from 'vitest';
import { delta, loadFigures, type MetricsSnapshot, total } from '../../../runtime/bench/metrics-scrape.js';
import { parsePrometheusText, sumSamples } from '../../../runtime/bench/prom-text.js';

const TEXT = `# HELP imgroup_redis_commands_total Redis commands sent by this process.
# TYPE imgroup_redis_commands_total counter
imgroup_redis_commands_total{command="hgetall"} 120
imgroup_redis_commands_total{command="script:send"} 40

imgroup_redis_roundtrips_total 95
imgroup_logic_session_cache_requests_total{kind="presence",result="hit"} 900
imgroup_logic_session_cache_requests_total{kind="presence",result="miss"} 90
imgroup_logic_session_cache_requests_total{kind="members",result="stale"} 10
weird_label{path="a\\"b,c}",x="\\n"} 1.5e3 1712345678000
nodejs_gc_duration_seconds_bucket{le="+Inf"} +Inf
broken{unterminated="x} 3
not a sample line
`;

describe('parsePrometheusText', () => {
  const samples = parsePrometheusText(TEXT);

  it('reads names, labels (with escapes) and values, skipping comments and garbage', () => {
    expect(samples).toContainEqual({ name: 'imgroup_redis_commands_total', labels: { command: 'script:send' }, value: 40 });
    expect(samples).toContainEqual({ name: 'imgroup_redis_roundtrips_total', labels: {}, value: 95 });
    expect(samples).toContainEqual({ name: 'weird_label', labels: { path: 'a"b,c}', x: '\n' }, value: 1500 });
    expect(samples).toContainEqual({ name: 'nodejs_gc_duration_seconds_bucket', labels: { le: '+Inf' }, value: Number.POSITIVE_INFINITY });
    expect(samples.find((s) => s.name === 'broken' || s.name === 'not')).toBeUndefined();
  });

  it('sums a metric over its label sets, optionally matching labels', () => {
    expect(sumSamples(samples, 'imgroup_redis_commands_total')).toBe(160);
    expect(sumSamples(samples, 'imgroup_logic_session_cache_requests_total', { result: 'hit' })).toBe(900);
    expect(sumSamples(samples, 'imgroup_logic_session_cache_requests_total')).toBe(1000);
    expect(sumSamples(samples, 'no_such_metric')).toBeNull();
  });
});

describe('scrape deltas', () => {
  const snap = (...texts: string[]): MetricsSnapshot => ({ perTarget: texts.map(parsePrometheusText) });

  it('sums every process and subtracts before from after', () => {
    const before = snap('imgroup_redis_commands_total{command="get"} 10\nimgroup_redis_roundtrips_total 5', 'imgroup_redis_commands_total{command="get"} 1');
    const after = snap('imgroup_redis_commands_total{command="get"} 30\nimgroup_redis_roundtrips_total 9', 'imgroup_redis_commands_total{command="get"} 11\nimgroup_redis_commands_total{command="set"} 4');
    expect(total(after, 'imgroup_redis_commands_total')).toBe(45);
    expect(delta(before, after, 'imgroup_redis_commands_total')).toBe(34);
    expect(loadFigures(before, after)).toEqual({ redisCommands: 34, redisCommandsByName: { get: 30, set: 4 }, redisRoundtrips: 4, cacheHits: null, cacheRequests: null, serverP99Ms: { handedToGates: null, writtenByGate: null } });
  });

  it('gives cache figures only when some process exports the cache metric', () => {
    const before = snap('imgroup_logic_session_cache_requests_total{result="hit"} 5\nimgroup_logic_session_cache_requests_total{result="miss"} 5');
    const after = snap('imgroup_logic_session_cache_requests_total{result="hit"} 95\nimgroup_logic_session_cache_requests_total{result="miss"} 15');
    expect(loadFigures(before, after)).toMatchObject({ cacheHits: 90, cacheRequests: 100 });
  });
});
