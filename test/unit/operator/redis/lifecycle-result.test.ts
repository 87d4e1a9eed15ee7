import { Registry } from 'prom-client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RedisClusterAdmin } from '../../../../runtime/redis-cluster/cluster-admin.js';
import { planStep } from '../../../../operator/redis/lifecycle-plan.js';
import { DEFAULT_REQUEUE, lifecycleResult, type ExecutedStep } from '../../../../operator/redis/lifecycle-result.js';
import type { RedisLifecycleInput } from '../../../../operator/redis/lifecycle-types.js';
import { redisStatusOf } from '../../../../operator/redis/lifecycle-status.js';
import { RedisLifecycle } from '../../../../operator/redis/redis-lifecycle.js';
import { createRedisLifecycleMetrics, recordLifecycleStep } from '../../../../operator/redis/redis-lifecycle-metrics.js';
import { healthyCluster, input, picture, type FakeNode } from './lifecycle-fixture.js';

const LIMITS = { slotsPerStep: 64, maxMeetsPerStep: 256, maxOpenSlotFixesPerStep: 64 };
const NONE: ExecutedStep = { actions: [], migration: null, slotsAssignedNow: 0 };

function result(nodes: FakeNode[], masters = 3, replicas = 1, executed = NONE, statefulSetReplicas?: number) {
  const pic = picture(nodes, masters * (1 + replicas));
  return lifecycleResult(pic, planStep(pic, input(nodes, masters, replicas, statefulSetReplicas), LIMITS), executed);
}

describe('lifecycleResult', () => {
  it('Healthy: shards by pod name, all conditions good, no requeue', () => {
    const r = result(healthyCluster(3, 1));
    expect(r.state).toBe('Healthy');
    expect(r.requeueAfterMs).toBeNull();
    expect(r.slotsAssigned).toBe(16384);
    expect(r.shards).toEqual([
      { master: 'redis-0', replicas: ['redis-5'], slots: 5462 },
      { master: 'redis-1', replicas: ['redis-3'], slots: 5461 },
      { master: 'redis-2', replicas: ['redis-4'], slots: 5461 },
    ]);
    expect(r.conditions).toEqual({ clusterFormed: true, slotsAssigned: true, degraded: false, reason: 'ClusterHealthy', message: '16384 slots served by 3 masters' });
  });

  it.each<[string, (n: FakeNode[]) => FakeNode[], string, string, number | null]>([
    ['nothing assigned yet: Bootstrapping', (n) => n.map((x) => ({ ordinal: x.ordinal, id: x.id, fresh: true, ready: x.ordinal !== 0 })), 'Bootstrapping', 'WaitingForPods', DEFAULT_REQUEUE.bootstrappingMs],
    ['a pod down: Degraded', (n) => (n[4]!.down = true, n), 'Degraded', 'PodUnreachable', DEFAULT_REQUEUE.degradedMs],
    ['a master down without replica: Failed', (n) => (n[0]!.down = true, n[0]!.flaggedAs = ['fail'], n[5]!.master = 'b', n), 'Failed', 'SlotsDown', DEFAULT_REQUEUE.failedMs],
    ['a replica to re-attach: Migrating', (n) => (n[3]!.master = '9', n), 'Migrating', 'AttachingReplicas', DEFAULT_REQUEUE.migratingMs],
    ['a replica long without link: Degraded', (n) => (n[3]!.linkUp = false, n), 'Degraded', 'ReplicaLinkDown', DEFAULT_REQUEUE.degradedMs],
  ])('%s', (_name, change, state, reason, requeue) => {
    const r = result(change(healthyCluster(3, 1)));
    expect(r.state, r.problems.join('; ')).toBe(state);
    expect(r.conditions.reason).toBe(reason);
    expect(r.conditions.degraded).toBe(state === 'Degraded' || state === 'Failed');
    expect(r.requeueAfterMs).toBe(requeue);
  });

  it('a scale-out waiting for its new pods is progressing, not Degraded; a known pod missing is Degraded', () => {
    // 3 → 5 masters: the StatefulSet asks for 10 pods; ordinals 6–9 are not there (or not answering) yet.
    const nodes = healthyCluster(3, 1);
    const waiting = result(nodes, 5, 1, NONE, 10);
    expect(waiting.conditions.degraded, waiting.problems.join('; ')).toBe(false);
    expect(waiting.state).not.toBe('Degraded');
    expect(waiting.problems.join('; ')).toContain('no pod with ordinal 6 yet');
    const lost = healthyCluster(3, 1).filter((n) => n.ordinal !== 2);
    const degraded = result(lost, 3, 1);
    expect(degraded.state).toBe('Degraded');
    expect(degraded.conditions.reason).toBe('PodMissing');
  });

  it('a failed action makes the step Degraded', () => {
    const r = result(healthyCluster(3, 1), 3, 1, { actions: [{ kind: 'meet', message: 'meet: failed: boom', ok: false }], migration: null, slotsAssignedNow: 0 });
    expect(r.state).toBe('Degraded');
    expect(r.conditions.reason).toBe('ActionFailed');
  });

  it('counts the slots of this step’s move in the shards and reports the progress', () => {
    const migration = { from: 'redis-0', to: 'redis-1', slotsMoved: 10, slotsPlanned: 64, slotsRemaining: 100 };
    const r = result(healthyCluster(3, 1), 3, 1, { actions: [{ kind: 'migrate', message: 'moved', ok: true }], migration, slotsAssignedNow: 0 });
    expect(r.shards.map((s) => s.slots)).toEqual([5452, 5471, 5461]);
    expect(r.migration).toEqual(migration);
    expect(redisStatusOf(r)).toMatchObject({
      state: 'Migrating',
      slotsAssigned: 16384,
      shards: [{ master: 'redis-0', replicas: ['redis-5'], slots: 5452 }, { master: 'redis-1' }, { master: 'redis-2' }],
      migration: { source: 'redis-0', target: 'redis-1', slotsPlanned: 110, slotsMoved: 10 },
    });
  });
});

describe('RedisLifecycle input checks', () => {
  const admin = new RedisClusterAdmin();
  const lifecycle = new RedisLifecycle(admin, { log: pino({ level: 'silent' }) });
  const ok: RedisLifecycleInput = { pods: [{ name: 'redis-0', ordinal: 0, ip: '127.0.0.1', ready: true }], masters: 3, replicasPerMaster: 1, port: 6379, statefulSetReplicas: 6 };

  it.each<[string, Partial<RedisLifecycleInput>, RegExp]>([
    ['fewer than 3 masters', { masters: 2 }, /masters must be an integer ≥ 3, got 2/],
    ['a negative replica count', { replicasPerMaster: -1 }, /replicasPerMaster must be an integer ≥ 0/],
    ['port 0', { port: 0 }, /port must be 1..65535/],
    ['two pods with one ordinal', { pods: [ok.pods[0]!, { ...ok.pods[0]!, name: 'x' }] }, /two pods have ordinal 0/],
    ['a negative ordinal', { pods: [{ ...ok.pods[0]!, ordinal: -1 }] }, /ordinal -1 is not a count/],
  ])('refuses %s (Failed/InvalidSpec, nothing asked)', async (_name, change, message) => {
    const r = await lifecycle.step({ ...ok, ...change });
    expect(r.state).toBe('Failed');
    expect(r.conditions.reason).toBe('InvalidSpec');
    expect(r.conditions.message).toMatch(message);
    expect(r.actions).toEqual([]);
  });

  it.each([['migrateSlotsPerStep', 0], ['stepBudgetMs', -5], ['observeTimeoutMs', 1.5]])('rejects option %s = %s', (key, value) => {
    expect(() => new RedisLifecycle(admin, { log: pino({ level: 'silent' }), [key]: value })).toThrow(new RegExp(`${key} must be a positive integer`));
  });
});

describe('lifecycle metrics', () => {
  it('counts repairs by kind (every kind from 0), slot moves and the slots assigned per cluster', async () => {
    const registry = new Registry();
    const m = createRedisLifecycleMetrics(registry);
    const base = result(healthyCluster(3, 1));
    recordLifecycleStep(m, 'ns/a', {
      ...base,
      actions: [
        { kind: 'meet', message: '', ok: true },
        { kind: 'meet', message: '', ok: false },
        { kind: 'forget', message: '', ok: true },
        { kind: 'migrate', message: '', ok: true },
      ],
      migration: { from: 'redis-0', to: 'redis-1', slotsMoved: 40, slotsPlanned: 64, slotsRemaining: 0 },
    });
    const text = await registry.metrics();
    expect(text).toContain('imgroup_operator_redis_repairs_total{kind="meet"} 1');
    expect(text).toContain('imgroup_operator_redis_repairs_total{kind="forget"} 1');
    expect(text).toContain('imgroup_operator_redis_repairs_total{kind="assign-slots"} 0');
    expect(text).toContain('imgroup_operator_redis_migrations_total 40');
    expect(text).toContain('imgroup_operator_redis_slots_assigned{cluster="ns/a"} 16384');
  });
});
