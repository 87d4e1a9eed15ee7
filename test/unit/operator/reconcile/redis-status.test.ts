import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { RedisLifecycleResult } from '../../../../operator/redis/lifecycle-types.js';
import type { RedisObservation } from '../../../../operator/reconcile/redis-observations.js';
import { redisConditions, redisPendingStatus, redisPodViews, redisStatusFromStep, redisStatusOfObservation } from '../../../../operator/reconcile/redis-status.js';

function pod(name: string, o: { ip?: string; ready?: boolean; terminating?: boolean; node?: string } = {}): V1Pod {
  return {
    metadata: { name, ...(o.terminating ? { deletionTimestamp: new Date('2030-01-01T00:00:00Z') } : {}) },
    spec: { containers: [], ...(o.node ? { nodeName: o.node } : {}) },
    status: { ...(o.ip ? { podIP: o.ip } : {}), conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

function result(over: Partial<RedisLifecycleResult> = {}): RedisLifecycleResult {
  return {
    state: 'Healthy',
    slotsAssigned: 16384,
    shards: [{ master: 'chat-redis-0', replicas: ['chat-redis-3'], slots: 5462 }],
    migration: null,
    statefulSetReplicas: 6,
    actions: [],
    requeueAfterMs: null,
    conditions: { clusterFormed: true, slotsAssigned: true, degraded: false, reason: 'Healthy', message: 'healthy' },
    problems: [],
    unreachable: [],
    ...over,
  };
}

describe('redisPodViews', () => {
  it('keeps N-redis-<ordinal> pods in ordinal order with IP, readiness and node; a terminating pod is not ready', () => {
    const views = redisPodViews(
      [pod('chat-redis-10', { ip: '10.0.0.10' }), pod('chat-redis-2', { ip: '10.0.0.2', node: 'n1' }), pod('chat-redis-1', { terminating: true }), pod('chat-redis-x'), pod('chat-redis-01'), pod('other-redis-0')],
      'chat-redis',
    );
    expect(views).toEqual([
      { name: 'chat-redis-1', ordinal: 1, ip: null, ready: false, failureDomain: null },
      { name: 'chat-redis-2', ordinal: 2, ip: '10.0.0.2', ready: true, failureDomain: 'n1' },
      { name: 'chat-redis-10', ordinal: 10, ip: '10.0.0.10', ready: true, failureDomain: null },
    ]);
  });
});

describe('status.redis', () => {
  it('from a step: state, slots, shards, migration progress, ready pods, problems in the message', () => {
    const s = redisStatusFromStep(result({ state: 'Migrating', migration: { from: 'chat-redis-0', to: 'chat-redis-3', slotsMoved: 64, slotsPlanned: 64, slotsRemaining: 1000 }, problems: ['chat-redis-4 unreachable'] }), 5);
    expect(s).toMatchObject({ state: 'Migrating', slotsAssigned: 16384, ready: 5, migration: { source: 'chat-redis-0', target: 'chat-redis-3', slotsMoved: 64, slotsPlanned: 1064 } });
    expect(s.message).toContain('chat-redis-4 unreachable');
  });

  it('without a step: a healthy cluster that cannot be asked is Degraded; a new one stays Pending', () => {
    expect(redisPendingStatus({ state: 'Healthy', slotsAssigned: 16384 }, 3, 'redis lifecycle step failed: x')).toMatchObject({ state: 'Degraded', slotsAssigned: 16384, ready: 3 });
    expect(redisPendingStatus(undefined, 0, 'waiting for Redis pods')).toMatchObject({ state: 'Pending', slotsAssigned: 0, message: 'waiting for Redis pods' });
  });

  it('conditions ClusterFormed and SlotsAssigned follow the step', () => {
    expect(redisConditions(result()).map((c) => `${c.type}=${c.status}`)).toEqual(['ClusterFormed=True', 'SlotsAssigned=True']);
    const partial = redisConditions(result({ slotsAssigned: 100, conditions: { clusterFormed: false, slotsAssigned: false, degraded: true, reason: 'Bootstrapping', message: 'forming' } }));
    expect(partial.map((c) => `${c.type}=${c.status}:${c.reason}`)).toEqual(['ClusterFormed=False:Bootstrapping', 'SlotsAssigned=False:SlotsMissing']);
  });
});

describe('status.redis and conditions from the latest Redis observation (by its kind, never its message)', () => {
  const at = { readyPods: 3, replicas: 6 };
  const healthy = { state: 'Healthy', slotsAssigned: 16384 } as const;
  it.each<[string, RedisObservation | undefined, string, string[]]>([
    ['none yet', undefined, 'Pending', ['Ready=False:RedisPending']],
    ['waiting for pods', { ...at, kind: 'waiting', for: 'pods' }, 'Degraded', ['Ready=False:RedisPending']],
    // A step error whose text reads like anything at all is still unreachable, and Degraded.
    ['unreachable', { ...at, kind: 'unreachable', error: new Error('connect ECONNREFUSED') }, 'Degraded', ['Degraded=True:RedisUnreachable', 'Ready=False:RedisUnreachable']],
    ['unreachable, any message', { ...at, kind: 'unreachable', error: new Error('waiting for Redis pods') }, 'Degraded', ['Degraded=True:RedisUnreachable', 'Ready=False:RedisUnreachable']],
    ['stepped, healthy', { ...at, kind: 'stepped', result: result() }, 'Healthy', ['ClusterFormed=True:Formed', 'SlotsAssigned=True:AllSlotsServed']],
    [
      'stepped, degraded',
      { ...at, kind: 'stepped', result: result({ state: 'Degraded', conditions: { clusterFormed: true, slotsAssigned: true, degraded: true, reason: 'MasterDown', message: 'chat-redis-0 down' } }) },
      'Degraded',
      ['ClusterFormed=True:Formed', 'SlotsAssigned=True:AllSlotsServed', 'Degraded=True:MasterDown', 'Ready=False:RedisDegraded'],
    ],
    [
      'stepped, migrating',
      { ...at, kind: 'stepped', result: result({ state: 'Migrating', conditions: { clusterFormed: true, slotsAssigned: true, degraded: false, reason: 'Migrating', message: 'moving slots' } }) },
      'Migrating',
      ['ClusterFormed=True:Formed', 'SlotsAssigned=True:AllSlotsServed', 'Ready=False:RedisMigrating', 'Progressing=True:RedisMigrating'],
    ],
  ])('%s', (_what, observation, state, conditions) => {
    const previous = observation === undefined ? undefined : healthy;
    const out = redisStatusOfObservation(previous, observation);
    expect(out.redis.state).toBe(state);
    expect(out.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`)).toEqual(conditions);
  });

  it('waiting and unreachable keep the step-free status message readable', () => {
    expect(redisStatusOfObservation(undefined, { ...at, kind: 'unreachable', error: new Error('timeout') }).redis.message).toBe('redis lifecycle step failed: timeout');
    expect(redisStatusOfObservation(undefined, { ...at, kind: 'waiting', for: 'password' }).redis.message).toBe('waiting for the auth Secret (Redis password)');
  });
});
