import { describe, expect, it } from 'vitest';
import { parseFraction, resolveBenchOptions } from '../../../runtime/bench/bench-options.js';
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
});
