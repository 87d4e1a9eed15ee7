import { describe, expect, it } from 'vitest';
import { DEV_INTERNAL_TOKEN } from '../../../runtime/config/common-options.js';
import { ConfigError } from '../../../runtime/config/options.js';
import { gateCacheMs, LOGIC_OPTIONS, LOGIC_OWN_OPTIONS, resolveLogicOptions } from '../../../runtime/logic/config.js';

const token = { IMGROUP_INTERNAL_TOKEN: 'a-real-secret' };

describe('resolveLogicOptions', () => {
  it('has the documented defaults', () => {
    const { options, warnings } = resolveLogicOptions([], token, { hostname: 'host-1' });
    expect(options).toMatchObject({
      name: 'host-1',
      host: '0.0.0.0',
      port: 8180,
      opsPort: 9190,
      maxMembersPerGroup: 10_000,
      replayLimit: 500,
      logCap: 10_000,
      logRetentionMs: 7 * 24 * 3600 * 1000,
      idempotencyMs: 600_000,
      storageRetryMs: 3000,
      internalToken: 'a-real-secret',
    });
    expect(warnings).toEqual([]);
  });

  it('acknowledges without replicas by default; a replica ack count comes with a timeout within the command timeout', () => {
    expect(resolveLogicOptions([], token).options).toMatchObject({ minReplicasAck: 0, replicasAckTimeoutMs: 500 });
    const on = resolveLogicOptions(['--redis-min-replicas-ack', '2'], { ...token, IMGROUP_REDIS_REPLICAS_ACK_TIMEOUT_MS: '1000' }).options;
    expect(on).toMatchObject({ minReplicasAck: 2, replicasAckTimeoutMs: 1000, redisCommandTimeoutMs: 2000 });
    // Without acks the timeout is not used, so it is not checked against the command timeout.
    expect(resolveLogicOptions([], { ...token, IMGROUP_REDIS_REPLICAS_ACK_TIMEOUT_MS: '5000' }).options.replicasAckTimeoutMs).toBe(5000);
  });

  it('reads environment and flags (flags win)', () => {
    const { options } = resolveLogicOptions(['--replay-limit', '20', '--name', 'logic-7'], { ...token, IMGROUP_REPLAY_LIMIT: '10', IMGROUP_LOG_CAP: '99', IMGROUP_LOGIC_PORT: '0' });
    expect(options).toMatchObject({ replayLimit: 20, logCap: 99, port: 0, name: 'logic-7' });
  });

  it('falls back to the development token with a warning, in development mode only', () => {
    const { options, warnings } = resolveLogicOptions([], {});
    expect(options.internalToken).toBe(DEV_INTERNAL_TOKEN);
    expect(warnings.join('\n')).toMatch(/IMGROUP_INTERNAL_TOKEN/);
    expect(() => resolveLogicOptions([], { IMGROUP_MODE: 'production' })).toThrow(/IMGROUP_INTERNAL_TOKEN.*production/);
  });

  it.each([
    ['an out-of-range port', { IMGROUP_LOGIC_PORT: '70000' }, /IMGROUP_LOGIC_PORT.*maximum/],
    ['a replay limit of 0', { IMGROUP_REPLAY_LIMIT: '0' }, /IMGROUP_REPLAY_LIMIT.*minimum/],
    ['a non-numeric cap', { IMGROUP_LOG_CAP: 'lots' }, /IMGROUP_LOG_CAP.*not an integer/],
    ['the same port twice', { IMGROUP_LOGIC_PORT: '9000', IMGROUP_OPS_PORT: '9000' }, /IMGROUP_LOGIC_PORT and IMGROUP_OPS_PORT are both 9000/],
    ['a request timeout below the Redis timeout', { IMGROUP_LOGIC_REQUEST_TIMEOUT_MS: '500', IMGROUP_REDIS_COMMAND_TIMEOUT_MS: '1000' }, /IMGROUP_LOGIC_REQUEST_TIMEOUT_MS \(500\).*IMGROUP_REDIS_COMMAND_TIMEOUT_MS/],
    ['a group queue above the total', { IMGROUP_FANOUT_QUEUE_MAX: '50', IMGROUP_FANOUT_MAX_PENDING: '10' }, /IMGROUP_FANOUT_QUEUE_MAX \(50\).*IMGROUP_FANOUT_MAX_PENDING/],
    ['a sweep grace as long as the retention', { IMGROUP_SWEEP_GRACE_MS: '60000', IMGROUP_LOG_RETENTION_MS: '60000' }, /IMGROUP_SWEEP_GRACE_MS.*IMGROUP_LOG_RETENTION_MS/],
    ['a sweep horizon within the grace', { IMGROUP_SWEEP_GRACE_MS: '5000', IMGROUP_SWEEP_HORIZON_MS: '5000' }, /IMGROUP_SWEEP_HORIZON_MS.*IMGROUP_SWEEP_GRACE_MS/],
    ['no Redis seed', { IMGROUP_REDIS_SEEDS: ' , ' }, /IMGROUP_REDIS_SEEDS/],
    ['the development token in production', { IMGROUP_MODE: 'production', IMGROUP_INTERNAL_TOKEN: DEV_INTERNAL_TOKEN }, /IMGROUP_INTERNAL_TOKEN is the public development default/],
    ['an unknown flag', { '--argv': '--replay' }, /unknown flag --replay/],
    ['a negative session TTL', { IMGROUP_SESSION_TTL_MS: '-1' }, /IMGROUP_SESSION_TTL_MS.*minimum/],
    ['no presence channel', { IMGROUP_PRESENCE_CHANNELS: '0' }, /IMGROUP_PRESENCE_CHANNELS.*minimum/],
    ['a session cache without room', { IMGROUP_SESSION_CACHE_MAX_ENTRIES: '0' }, /IMGROUP_SESSION_CACHE_MAX_ENTRIES.*minimum/],
    ['a tiny session cache byte bound', { IMGROUP_SESSION_CACHE_MAX_BYTES: '1000' }, /IMGROUP_SESSION_CACHE_MAX_BYTES.*minimum/],
    ['a non-boolean invalidation switch', { IMGROUP_SESSION_INVALIDATION: 'maybe' }, /IMGROUP_SESSION_INVALIDATION/],
    ['a cursor flush interval over a minute', { IMGROUP_CURSOR_FLUSH_MS: '60001' }, /IMGROUP_CURSOR_FLUSH_MS.*maximum/],
    ['a sync page below 1 KiB', { IMGROUP_SYNC_PAGE_BYTES: '1023' }, /IMGROUP_SYNC_PAGE_BYTES.*minimum/],
    ['a replay byte bound above 256 MiB', { IMGROUP_REPLAY_MAX_BYTES: String(256 * 1024 * 1024 + 1) }, /IMGROUP_REPLAY_MAX_BYTES.*maximum/],
    ['a sweep without bytes per tick', { IMGROUP_SWEEP_MAX_BYTES_PER_TICK: '0' }, /IMGROUP_SWEEP_MAX_BYTES_PER_TICK.*minimum/],
    ['a node read budget below 64 KiB', { IMGROUP_LOGIC_LOG_READ_MAX_BYTES: '65535' }, /IMGROUP_LOGIC_LOG_READ_MAX_BYTES.*minimum/],
    ['a sync page larger than the node read budget', { IMGROUP_SYNC_PAGE_BYTES: '2097152', IMGROUP_LOGIC_LOG_READ_MAX_BYTES: '1048576' }, /IMGROUP_SYNC_PAGE_BYTES \(2097152\).*IMGROUP_LOGIC_LOG_READ_MAX_BYTES/],
    ['a replay larger than the node read budget', { IMGROUP_REPLAY_MAX_BYTES: '2097152', IMGROUP_LOGIC_LOG_READ_MAX_BYTES: '1048576' }, /IMGROUP_REPLAY_MAX_BYTES \(2097152\).*IMGROUP_LOGIC_LOG_READ_MAX_BYTES/],
    ['a read wait over ten minutes', { IMGROUP_LOGIC_LOG_READ_WAIT_MS: '600001' }, /IMGROUP_LOGIC_LOG_READ_WAIT_MS.*maximum/],
    ['a negative storage retry bound', { IMGROUP_LOGIC_STORAGE_RETRY_MS: '-1' }, /IMGROUP_LOGIC_STORAGE_RETRY_MS.*minimum/],
    ['more replica acks than a master can have', { IMGROUP_REDIS_MIN_REPLICAS_ACK: '6' }, /IMGROUP_REDIS_MIN_REPLICAS_ACK.*maximum/],
    ['a negative replica ack count', { IMGROUP_REDIS_MIN_REPLICAS_ACK: '-1' }, /IMGROUP_REDIS_MIN_REPLICAS_ACK.*minimum/],
    ['a replica ack timeout of 0 (WAIT would block for ever)', { IMGROUP_REDIS_REPLICAS_ACK_TIMEOUT_MS: '0' }, /IMGROUP_REDIS_REPLICAS_ACK_TIMEOUT_MS.*minimum/],
    [
      'a replica ack timeout over half the Redis command timeout',
      { IMGROUP_REDIS_MIN_REPLICAS_ACK: '1', IMGROUP_REDIS_REPLICAS_ACK_TIMEOUT_MS: '1001', IMGROUP_REDIS_COMMAND_TIMEOUT_MS: '2000' },
      /IMGROUP_REDIS_REPLICAS_ACK_TIMEOUT_MS \(1001\) is more than half of IMGROUP_REDIS_COMMAND_TIMEOUT_MS \(2000\)/,
    ],
  ])('rejects %s, naming the setting', (_name, env, message) => {
    const { '--argv': flag, ...rest } = env as Record<string, string>;
    const argv = flag ? [flag, '1'] : [];
    expect(() => resolveLogicOptions(argv, { ...token, ...rest })).toThrow(ConfigError);
    expect(() => resolveLogicOptions(argv, { ...token, ...rest })).toThrow(message);
  });

  it('has the documented byte bounds of log reads', () => {
    const { options } = resolveLogicOptions([], token);
    expect(options).toMatchObject({
      syncPageBytes: 1024 * 1024,
      replayMaxBytes: 1024 * 1024,
      sweepMaxBytesPerTick: 4 * 1024 * 1024,
      logReadMaxBytes: 16 * 1024 * 1024,
      logReadWaitMs: 2000,
    });
  });

  it('has the documented session cache and cursor defaults, and switches', () => {
    const { options } = resolveLogicOptions([], token);
    expect(options).toMatchObject({
      sessionTtlMs: 30_000,
      sessionCacheMaxEntries: 1_000_000,
      sessionCacheMaxBytes: 256 * 1024 * 1024,
      sessionInvalidation: true,
      presenceChannels: 64,
      cursorFlushMs: 1000,
      cursorPendingMax: 100_000,
    });
    const off = resolveLogicOptions([], { ...token, IMGROUP_SESSION_TTL_MS: '0', IMGROUP_SESSION_INVALIDATION: 'false', IMGROUP_CURSOR_FLUSH_MS: '0' }).options;
    expect(off).toMatchObject({ sessionTtlMs: 0, sessionInvalidation: false, cursorFlushMs: 0 });
  });

  it('skips the sweep checks when the sweep is disabled', () => {
    const { options } = resolveLogicOptions([], { ...token, IMGROUP_SWEEP_INTERVAL_MS: '0', IMGROUP_SWEEP_GRACE_MS: '60000', IMGROUP_LOG_RETENTION_MS: '60000' });
    expect(options.sweepIntervalMs).toBe(0);
  });

  it('rejects positional arguments', () => {
    expect(() => resolveLogicOptions(['extra'], token)).toThrow(/unexpected argument "extra"/);
  });
});

describe('option specs', () => {
  it('declares every option once, each env IMGROUP_*, each with a doc, common options first', () => {
    const envs = LOGIC_OPTIONS.map((s) => s.env);
    const flags = LOGIC_OPTIONS.map((s) => s.flag);
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(flags).size).toBe(flags.length);
    expect(LOGIC_OPTIONS.every((s) => s.env.startsWith('IMGROUP_') && s.doc.length > 10)).toBe(true);
    expect(LOGIC_OPTIONS.slice(-LOGIC_OWN_OPTIONS.length)).toEqual(LOGIC_OWN_OPTIONS);
  });

  it('derives the presence liveness cache from the heartbeat', () => {
    expect(gateCacheMs({ heartbeatMs: 15_000 })).toBe(3750);
  });
});
