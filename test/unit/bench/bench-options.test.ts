import { describe, expect, it } from 'vitest';
import { parseFraction, resolveBenchOptions, warmupMessages } from '../../../runtime/bench/bench-options.js';
import { ConfigError } from '../../../runtime/config/options.js';

const TARGET = ['--target', 'http://127.0.0.1:8080', '--admin-token', 'a', '--jwt-secret', 's'];

describe('imgroup bench options', () => {
  it('has defaults for a group of 1,000 members, half online, on a cluster of its own', () => {
    const o = resolveBenchOptions([], {});
    expect(o).toMatchObject({ groupSize: 1000, groups: 1, online: 0.5, rate: 0, workers: 2, json: false, idle: 0, target: undefined, sessionTtlMs: undefined, metrics: [] });
  });

  it('reads flags and IMGROUP_BENCH_* variables, flags first', () => {
    const o = resolveBenchOptions(['--group-size', '50', '--online', '.25', '--json', '--session-ttl-ms', '0'], { IMGROUP_BENCH_GROUP_SIZE: '10', IMGROUP_BENCH_RATE: '300' });
    expect(o).toMatchObject({ groupSize: 50, online: 0.25, json: true, rate: 300, sessionTtlMs: 0 });
  });

  it('takes an existing cluster with --target and its secrets', () => {
    const o = resolveBenchOptions([...TARGET, '--metrics', 'http://127.0.0.1:9090,http://127.0.0.1:9190', '--redis-seeds', '127.0.0.1:7000'], {});
    expect(o).toMatchObject({ target: ['http://127.0.0.1:8080'], metrics: ['http://127.0.0.1:9090', 'http://127.0.0.1:9190'], redisSeeds: ['127.0.0.1:7000'] });
  });

  it.each([
    [['--online', '0'], /--online.*not a fraction/],
    [['--online', '1.5'], /--online.*not a fraction/],
    [['--online', 'half'], /--online.*not a fraction/],
    [['--group-size', '0'], /--group-size.*below the minimum 1/],
    [['--rate', '-1'], /--rate.*below the minimum 0/],
    [['--body-bytes', '8'], /--body-bytes.*below the minimum 32/],
    [['--workers', '0'], /--workers.*below the minimum 1/],
    [['--group-size', '10', '--senders', '6'], /--senders \(6\) is more than the online members of a group \(5/],
    [['--groups', '10', '--messages', '5'], /--messages \(5\) is fewer than --groups \(10\)/],
    [['--target', 'http://h:1'], /--target needs --admin-token/],
    [['--target', 'http://h:1', '--admin-token', 'a'], /--target needs --jwt-secret/],
    [['--target', 'ftp://h:1', '--admin-token', 'a', '--jwt-secret', 's'], /--target.*http\(s\):\/\/ or ws\(s\):\/\//],
    [['--target', 'nonsense', '--admin-token', 'a', '--jwt-secret', 's'], /--target.*not a URL/],
    [[...TARGET, '--compare-cache'], /--compare-cache .* drop --target/],
    [[...TARGET, '--session-ttl-ms', '100'], /--session-ttl-ms .* with --target/],
    [[...TARGET, '--min-replicas-ack', '1'], /--min-replicas-ack .* with --target, set IMGROUP_REDIS_MIN_REPLICAS_ACK/],
    [['--min-replicas-ack', '1'], /--min-replicas-ack \(1\) is more than --redis-replicas \(0\)/],
    [['--redis-replicas', '1', '--min-replicas-ack', '2'], /--min-replicas-ack \(2\) is more than --redis-replicas \(1\)/],
    [['--redis-replicas', '4', '--min-replicas-ack', '6'], /--min-replicas-ack.*above the maximum 5/],
    [[...TARGET, '--idle', '10'], /--idle with --target needs --metrics/],
    [['--metrics', 'http://h:1'], /--metrics and --redis-seeds .* with --target/],
    [['--idle', '10', '--baseline'], /--idle .* cannot be combined/],
    [['--rounds', '3'], /--rounds alternates imgroup and the baseline: give it with --baseline/],
    [['--rounds', '3', '--baseline', '--compare-cache'], /--rounds .* without --compare-cache/],
    [['--compare-cache', '--session-ttl-ms', '0'], /--compare-cache compares TTL 0 with a cache that is on/],
    [['--session-invalidation', 'maybe'], /--session-invalidation.*not one of true, false/],
    [['--no-such-flag'], /unknown flag --no-such-flag/],
    [['extra'], /unexpected argument "extra"/],
  ])('rejects %j naming the setting', (argv, message) => {
    expect(() => resolveBenchOptions(argv, {})).toThrow(ConfigError);
    expect(() => resolveBenchOptions(argv, {})).toThrow(message);
  });

  it('lets --idle skip the workload rules (no groups, no senders)', () => {
    expect(resolveBenchOptions(['--idle', '100', '--group-size', '1', '--senders', '5'], {}).idle).toBe(100);
  });

  it.each([
    ['0.5', 0.5],
    ['1', 1],
    ['.1', 0.1],
    ['1.0', 1],
  ])('parses the fraction %s', (text, want) => {
    expect(parseFraction(text)).toBe(want);
  });

  // ---- issue 13 §3: --login-storm and --suite
  describe('--login-storm and --suite', () => {
    it('defaults to a backlog of 200 messages and a suite at full scale, both off', () => {
      expect(resolveBenchOptions([], {})).toMatchObject({ loginStorm: false, stormBacklog: 200, suite: false, suiteScale: 1 });
    });

    it('takes a scaled suite and a login storm of groups with one sender each', () => {
      expect(resolveBenchOptions(['--suite', '--suite-scale', '0.05', '--json'], {})).toMatchObject({ suite: true, suiteScale: 0.05, json: true });
      expect(resolveBenchOptions(['--login-storm', '--groups', '250', '--group-size', '21', '--senders', '1'], {})).toMatchObject({ loginStorm: true, groups: 250, groupSize: 21, senders: 1 });
    });

    it('lets --suite skip the single-run workload rules (it sets its own workloads)', () => {
      expect(resolveBenchOptions(['--suite', '--group-size', '1', '--senders', '5'], {}).suite).toBe(true);
    });

    it.each([
      [['--suite-scale', '0.5'], /--suite-scale scales the workloads of --suite/],
      [['--suite', '--suite-scale', '0'], /--suite-scale.*not a fraction/],
      [['--suite', '--suite-scale', '2'], /--suite-scale.*not a fraction/],
      [['--suite', '--idle', '10'], /--suite runs its own workloads.*--idle/],
      [['--suite', '--login-storm'], /--suite .* cannot be combined with --login-storm/],
      [['--suite', '--baseline', '--compare-cache'], /cannot be combined with --compare-cache, --baseline/],
      [['--login-storm', '--baseline'], /--login-storm cannot be combined with --baseline/],
      [['--login-storm', '--idle', '5'], /--login-storm cannot be combined with --idle/],
      [['--login-storm', '--group-size', '10', '--senders', '10'], /--login-storm: --senders \(10\) leaves no offline member/],
      [['--login-storm', '--storm-backlog', '501'], /--storm-backlog.*above the maximum 500/],
      [['--login-storm', '--groups', '2000', '--group-size', '20', '--senders', '1'], /40000 connections over --workers 2 is 20000 per client worker.*raise --workers to at least 3/],
      [['--groups', '1000', '--group-size', '40', '--online', '1', '--messages', '1000'], /40000 connections over --workers 2.*raise --workers/],
    ])('rejects %j naming the setting', (argv, message) => {
      expect(() => resolveBenchOptions(argv, {})).toThrow(ConfigError);
      expect(() => resolveBenchOptions(argv, {})).toThrow(message);
    });
  });
});

describe('warm-up length', () => {
  it('lasts --warmup-seconds at a fixed rate (10 s by default), never less than --warmup, and is --warmup in the closed loop', () => {
    expect(warmupMessages(resolveBenchOptions(['--rate', '50'], {}))).toBe(500);
    expect(warmupMessages(resolveBenchOptions(['--rate', '50', '--warmup', '800'], {}))).toBe(800);
    expect(warmupMessages(resolveBenchOptions(['--rate', '33', '--warmup-seconds', '3'], {}))).toBe(99);
    expect(warmupMessages(resolveBenchOptions(['--rate', '50', '--warmup-seconds', '0'], {}))).toBe(20);
    expect(warmupMessages(resolveBenchOptions([], {}))).toBe(20);
  });
});
