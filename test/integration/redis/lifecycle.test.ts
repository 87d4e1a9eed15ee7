/**
 * The Redis lifecycle engine against real redis-server processes (no Kubernetes): the test plays
 * the StatefulSet and kubelet (local-redis-pods.ts) and the reconcile loop (lifecycle-driver.ts).
 */
import { Cluster } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisClusterAdmin } from '../../../operator/redis/cluster-admin.js';
import { myselfOf, type ClusterNodeRecord } from '../../../operator/redis/cluster-nodes.js';
import type { RedisLifecycleResult } from '../../../operator/redis/lifecycle-types.js';
import { RedisLifecycle } from '../../../operator/redis/redis-lifecycle.js';
import { createRedisLifecycleMetrics, recordLifecycleStep } from '../../../operator/redis/redis-lifecycle-metrics.js';
import { drive } from './lifecycle-driver.js';
import { LocalRedisPods } from './local-redis-pods.js';

const log = pino({ level: process.env.LIFECYCLE_LOG ?? 'silent' });
const healthy = (r: RedisLifecycleResult) => r.state === 'Healthy';

function clientFor(pods: LocalRedisPods): Cluster {
  return new Cluster(pods.seeds(), { redisOptions: { connectTimeout: 2000 }, clusterRetryStrategy: (times) => (times > 20 ? null : 200) });
}

/** Every pod's own record, by ordinal. */
async function roles(admin: RedisClusterAdmin, pods: LocalRedisPods): Promise<Map<number, ClusterNodeRecord>> {
  const out = new Map<number, ClusterNodeRecord>();
  for (const v of pods.views()) out.set(v.ordinal, myselfOf(await admin.nodes(pods.addr(v.ordinal))) as ClusterNodeRecord);
  return out;
}

async function writeKeys(client: Cluster, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 500) {
    const batch = client.pipeline();
    for (let k = i; k < Math.min(count, i + 500); k++) batch.set(`${prefix}:${k}`, `v${k}`);
    await batch.exec();
  }
}

async function missingKeys(client: Cluster, prefix: string, count: number): Promise<string[]> {
  const missing: string[] = [];
  for (let i = 0; i < count; i += 500) {
    const batch = client.pipeline();
    for (let k = i; k < Math.min(count, i + 500); k++) batch.get(`${prefix}:${k}`);
    const replies = (await batch.exec()) ?? [];
    replies.forEach(([err, v], j) => {
      if (err || v !== `v${i + j}`) missing.push(`${prefix}:${i + j}=${err ? err.message : String(v)}`);
    });
  }
  return missing;
}

describe('RedisLifecycle bootstrap of 3 masters × 1 replica', () => {
  let pods: LocalRedisPods;
  let admin: RedisClusterAdmin;

  beforeAll(async () => {
    pods = await LocalRedisPods.create(6);
    admin = new RedisClusterAdmin({ logger: log });
  });
  afterAll(async () => {
    await admin?.close();
    await pods?.stop();
  });

  it('forms the cluster once, with replicas placed off their masters’ ordinal class, and then has nothing to do', async () => {
    const lifecycle = new RedisLifecycle(admin, { log });
    const registry = new Registry();
    const metrics = createRedisLifecycleMetrics(registry);
    const { results, last } = await drive(lifecycle, pods, { masters: 3, replicasPerMaster: 1, until: healthy, onStep: (r) => recordLifecycleStep(metrics, 'ns/c', r) });
    expect(results.flatMap((r) => r.actions).filter((a) => a.kind === 'bootstrap')).toHaveLength(1);
    expect(last.slotsAssigned).toBe(16384);
    expect(last.conditions).toMatchObject({ clusterFormed: true, slotsAssigned: true, degraded: false });
    expect(last.shards).toEqual([
      { master: 'redis-0', replicas: ['redis-5'], slots: 5462 },
      { master: 'redis-1', replicas: ['redis-3'], slots: 5461 },
      { master: 'redis-2', replicas: ['redis-4'], slots: 5461 },
    ]);
    for (const v of pods.views()) {
      const info = await admin.clusterInfo(pods.addr(v.ordinal));
      expect(info.state).toBe('ok');
      expect(info.knownNodes).toBe(6);
    }
    expect(await registry.getSingleMetricAsString('imgroup_operator_redis_slots_assigned')).toMatch(/cluster="ns\/c"} 16384/);

    const again = await lifecycle.step({ pods: pods.views(), masters: 3, replicasPerMaster: 1, port: 6379, statefulSetReplicas: 6 });
    expect(again.state).toBe('Healthy');
    expect(again.actions).toEqual([]);
    expect(again.requeueAfterMs).toBeNull();
  });
});

/** A key whose hash slot is `slot` (brute force over a prefix). */
function keyInSlot(slot: number, prefix = 'k'): string {
  for (let i = 0; i < 1_000_000; i++) if (calculateSlot(`${prefix}${i}`) === slot) return `${prefix}${i}`;
  throw new Error(`no key for slot ${slot}`);
}

/** SET on a node of a cluster that does not cover every slot yet (allowed for the write only). */
async function writeWithoutCoverage(admin: RedisClusterAdmin, addr: { host: string; port: number }, key: string, value: string): Promise<void> {
  await admin.command(addr, 'config', 'set', 'cluster-require-full-coverage', 'no');
  // The node turns its cluster state ok on its next cron tick (after its rejoin delay).
  await expect.poll(() => admin.command(addr, 'set', key, value).then(() => true, () => false), { timeout: 10_000, interval: 100 }).toBe(true);
  await admin.command(addr, 'config', 'set', 'cluster-require-full-coverage', 'yes');
}

describe('RedisLifecycle never bootstraps over slots or keys', () => {
  let pods: LocalRedisPods | undefined;
  let stranger: LocalRedisPods | undefined;
  const admin = new RedisClusterAdmin({ logger: log });
  const input = () => ({ pods: (pods as LocalRedisPods).views(), masters: 3, replicasPerMaster: 0, port: 6379, statefulSetReplicas: 3 });

  afterEach(async () => {
    await admin.close();
    await pods?.stop();
    await stranger?.stop();
    pods = stranger = undefined;
  });

  it('adopts a pod that already serves a slot instead of bootstrapping: its slot and key stay where they are', async () => {
    pods = await LocalRedisPods.create(3);
    const key = keyInSlot(42);
    await admin.command(pods.addr(2), 'cluster', 'addslots', 42);
    await writeWithoutCoverage(admin, pods.addr(2), key, 'kept');
    const lifecycle = new RedisLifecycle(admin, { log });
    const first = await lifecycle.step(input());
    expect(first.actions.map((a) => a.kind)).not.toContain('bootstrap');
    expect(first.state).not.toBe('Bootstrapping');

    const { results } = await drive(lifecycle, pods, { masters: 3, replicasPerMaster: 0, until: healthy });
    expect(results.flatMap((r) => r.actions).map((a) => a.kind)).not.toContain('bootstrap');
    const me = myselfOf(await admin.nodes(pods.addr(2))) as ClusterNodeRecord;
    expect(me.slots.some((r) => r.start <= 42 && 42 <= r.end)).toBe(true);
    const client = clientFor(pods);
    try {
      expect(await client.get(key)).toBe('kept');
    } finally {
      client.disconnect();
    }
  });

  it('refuses (Failed/NotEmpty) when a pod holds keys although no slot is assigned anywhere, and changes nothing', async () => {
    pods = await LocalRedisPods.create(3);
    const key = keyInSlot(7);
    await admin.command(pods.addr(1), 'cluster', 'addslots', 7);
    await writeWithoutCoverage(admin, pods.addr(1), key, 'precious');
    await admin.command(pods.addr(1), 'cluster', 'delslots', 7);
    expect(await admin.dbSize(pods.addr(1))).toBe(1);
    const lifecycle = new RedisLifecycle(admin, { log });
    for (let i = 0; i < 3; i++) {
      const r = await lifecycle.step(input());
      expect(r.state).toBe('Failed');
      expect(r.conditions.reason).toBe('NotEmpty');
      expect(r.conditions.message).toMatch(/refusing to bootstrap: redis-1 holds 1 keys/);
      expect(r.actions).toEqual([]);
    }
    expect(await admin.dbSize(pods.addr(1))).toBe(1);
    for (const o of [0, 1, 2]) expect((await admin.nodes(pods.addr(o))).nodes).toHaveLength(1);
  });

  it('refuses (Failed/UnknownSlotOwner) when a pod knows a node of another cluster that serves slots, and never touches its slots', async () => {
    pods = await LocalRedisPods.create(3);
    stranger = await LocalRedisPods.create(1);
    await admin.command(stranger.addr(0), 'cluster', 'addslotsrange', 0, 100);
    await admin.meet(pods.addr(0), { ...stranger.addr(0), busPort: (myselfOf(await admin.nodes(stranger.addr(0))) as ClusterNodeRecord).busPort });
    await expect.poll(async () => (await admin.nodes(pods!.addr(0))).nodes.filter((n) => n.slots.length > 0).length, { timeout: 10_000 }).toBe(1);
    const lifecycle = new RedisLifecycle(admin, { log });
    for (let i = 0; i < 3; i++) {
      const r = await lifecycle.step(input());
      expect(r.actions.map((a) => a.kind)).not.toContain('bootstrap');
      expect(r.actions.map((a) => a.kind)).not.toContain('migrate');
      expect(r.state).toBe('Failed');
      expect(r.conditions.reason).toBe('UnknownSlotOwner');
    }
    const theirs = myselfOf(await admin.nodes(stranger.addr(0))) as ClusterNodeRecord;
    expect(theirs.slots).toEqual([{ start: 0, end: 100 }]);
  });
});
