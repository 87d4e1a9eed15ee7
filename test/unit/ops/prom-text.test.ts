import { describe, expect, it } from 'vitest';
import { parseExposition, parsePrometheusText, sumSamples } from '../../../runtime/ops/prom-text.js';

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

describe('parseExposition', () => {
  const EXPOSITION = `# HELP imgroup_gate_connections Open client connections.
# TYPE imgroup_gate_connections gauge
imgroup_gate_connections 3
# HELP imgroup_logic_message_duration_seconds Time to store a message.
# TYPE imgroup_logic_message_duration_seconds histogram
imgroup_logic_message_duration_seconds_bucket{le="0.1"} 4
imgroup_logic_message_duration_seconds_bucket{le="+Inf"} 5
imgroup_logic_message_duration_seconds_sum 0.3
imgroup_logic_message_duration_seconds_count 5
untyped_total{kind="a"} 7 1712345678000
nodejs_eventloop_lag_mean_seconds Nan
`;

  it('groups samples into families by their HELP and TYPE comments', () => {
    const families = parseExposition(EXPOSITION);
    expect([...families.keys()]).toEqual(['imgroup_gate_connections', 'imgroup_logic_message_duration_seconds', 'untyped_total', 'nodejs_eventloop_lag_mean_seconds']);
    expect(families.get('imgroup_gate_connections')).toEqual({
      name: 'imgroup_gate_connections',
      type: 'gauge',
      help: 'Open client connections.',
      samples: [{ name: 'imgroup_gate_connections', labels: {}, value: 3 }],
    });
    const histogram = families.get('imgroup_logic_message_duration_seconds');
    expect(histogram?.type).toBe('histogram');
    expect(histogram?.samples.map((s) => s.name)).toEqual([
      'imgroup_logic_message_duration_seconds_bucket',
      'imgroup_logic_message_duration_seconds_bucket',
      'imgroup_logic_message_duration_seconds_sum',
      'imgroup_logic_message_duration_seconds_count',
    ]);
    expect(histogram?.samples[1]).toEqual({ name: 'imgroup_logic_message_duration_seconds_bucket', labels: { le: '+Inf' }, value: 5 });
    expect(families.get('untyped_total')).toMatchObject({ type: 'untyped', help: '', samples: [{ labels: { kind: 'a' }, value: 7 }] });
    expect(families.get('nodejs_eventloop_lag_mean_seconds')?.samples[0]?.value).toBeNaN();
  });

  it.each([
    ['an unterminated label value', 'broken{unterminated="x} 3'],
    ['words instead of a value', 'not a sample line'],
    ['no value', 'lonely_metric'],
    ['no value after the labels', 'm{a="b"}'],
    ['garbage after the timestamp', 'm 1 1712345678000 extra'],
    ['a timestamp that is not an integer', 'm 1 soon'],
    ['a label without quotes', 'm{a=b} 1'],
  ])('throws on %s', (_what, line) => {
    expect(() => parseExposition(`# TYPE m gauge\n${line}\n`)).toThrow(/unreadable exposition line/);
    expect(parsePrometheusText(line)).toEqual([]);
  });
});
