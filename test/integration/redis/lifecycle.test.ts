/**
 * The Redis lifecycle engine against real redis-server processes (no Kubernetes): the test plays
 * the StatefulSet and kubelet (local-redis-pods.ts) and the reconcile loop (lifecycle-driver.ts).
 */
import { Cluster } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisClusterAdmin } from '../../../runtime/redis-cluster/cluster-admin.js';
import { myselfOf, type ClusterNodeRecord } from '../../../runtime/redis-cluster/cluster-nodes.js';
import type { RedisLifecycleResult } from '../../../operator/redis/lifecycle-types.js';
import { RedisLifecycle } from '../../../operator/redis/redis-lifecycle.js';
import { createRedisLifecycleMetrics, recordLifecycleStep } from '../../../operator/redis/redis-lifecycle-metrics.js';
import { eventually } from '../../support/eventually.js';
import { missingKeys, replicated, writeKeys } from '../../support/redis-key-traffic.js';
import { drive } from './lifecycle-driver.js';
import { LocalRedisPods } from './local-redis-pods.js';

const log = pino({ level: process.env.LIFECYCLE_LOG ?? 'silent' });
const healthy = (r: RedisLifecycleResult) => r.state === 'Healthy';

/**
 * A plain ioredis Cluster client: one command at a time follows MOVED/ASK. (Not auto-pipelined:
 * ioredis retries a redirected pipeline only when every command in it got the same redirection,
 * and a pipeline does not learn a node it was MOVED to that it did not know yet.)
 */
function clientFor(pods: LocalRedisPods, password?: string): Cluster {
  return new Cluster(pods.seeds(), { redisOptions: { connectTimeout: 2000, password }, clusterRetryStrategy: (times) => (times > 20 ? null : 200) });
}

/** Every pod's own record, by ordinal. */
async function roles(admin: RedisClusterAdmin, pods: LocalRedisPods): Promise<Map<number, ClusterNodeRecord>> {
  const out = new Map<number, ClusterNodeRecord>();
  for (const v of pods.views()) out.set(v.ordinal, myselfOf(await admin.nodes(pods.addr(v.ordinal))) as ClusterNodeRecord);
  return out;
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
  await eventually(`SET ${key} accepted`, () => admin.command(addr, 'set', key, value).then(() => true, () => false));
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
    await eventually('redis-0 knows the stranger’s slots', async () => (await admin.nodes(pods!.addr(0))).nodes.filter((n) => n.slots.length > 0).length === 1);
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

describe('RedisLifecycle repairs a 3 × 1 cluster', () => {
  let pods: LocalRedisPods;
  let admin: RedisClusterAdmin;
  let lifecycle: RedisLifecycle;
  const spec = { masters: 3, replicasPerMaster: 1 };
  const KEYS = 500;
  // Generous bounds for a busy machine: they only decide how long a broken case takes to fail.
  const CASE_MS = 240_000;
  const until = (what: (r: RedisLifecycleResult) => boolean, o: { timeoutMs?: number } = {}) => drive(lifecycle, pods, { ...spec, until: what, maxSteps: 2000, timeoutMs: 180_000, ...o });
  const knownIds = async () => {
    const ids = new Set<string>();
    for (const v of pods.views()) {
      if (!v.ready) continue;
      for (const n of (await admin.nodes(pods.addr(v.ordinal))).nodes) ids.add(n.id);
    }
    return ids;
  };
  const withClient = async <T>(fn: (c: Cluster) => Promise<T>): Promise<T> => {
    const c = clientFor(pods);
    try {
      return await fn(c);
    } finally {
      c.disconnect();
    }
  };
  /** Keys of this case only, written now; the returned check lists the ones not readable. */
  const ownKeys = async (prefix: string): Promise<() => Promise<string[]>> => {
    // Acknowledged by the replicas too: the cases kill masters, and what they check is the
    // lifecycle, not asynchronous replication (a key written just before the kill may be lost).
    await withClient(async (c) => {
      await writeKeys(c, prefix, KEYS);
      await replicated(c);
    });
    return () => withClient((c) => missingKeys(c, prefix, KEYS));
  };

  beforeAll(async () => {
    pods = await LocalRedisPods.create(6);
    admin = new RedisClusterAdmin({ logger: log });
  });
  // Each case starts from a healthy cluster with every pod running, whatever the case before it
  // left behind (a pod still down when it failed half-way).
  beforeEach(async () => {
    for (const v of pods.views()) if (!v.ready) await pods.restart(v.ordinal);
    lifecycle = new RedisLifecycle(admin, { log });
    await until(healthy);
  }, CASE_MS);
  afterAll(async () => {
    await admin?.close();
    await pods?.stop();
  });

  it('comes back healthy with every key after all pods restarted at once on new addresses and ports', async () => {
    const missing = await ownKeys('restart-all');
    const before = await roles(admin, pods);
    await pods.restartAll({ newAddress: true });
    const { results } = await until(healthy);
    expect(results.flatMap((r) => r.actions).filter((a) => a.kind === 'meet').length).toBeGreaterThan(0);
    const after = await roles(admin, pods);
    for (const [ordinal, me] of after) expect(me.id).toBe(before.get(ordinal)?.id);
    expect(await missing()).toEqual([]);
  }, CASE_MS);

  it('reports Degraded while a killed master’s replica takes over (never Healthy), and Healthy once the old master is back as a replica', async () => {
    const missing = await ownKeys('killed-master');
    const start = await until(healthy);
    const master = start.last.shards[0] as { master: string; replicas: string[] };
    const ordinal = Number(master.master.replace('redis-', ''));
    const heir = master.replicas[0] as string;
    await pods.kill(ordinal);
    // Durable while the pod stays down: Degraded (it does not answer) with the heir serving its
    // slots. Steps on the way may grade the failover differently; none may call it Healthy.
    const degraded = await until((r) => r.state === 'Degraded' && r.shards.some((s) => s.master === heir));
    expect(degraded.results.filter((r) => r.state === 'Healthy')).toEqual([]);
    expect(degraded.last.problems).toContainEqual(expect.stringContaining(`${master.master}: does not answer`));
    await pods.restart(ordinal);
    const back = await until(healthy);
    expect(back.last.shards.find((s) => s.master === heir)?.replicas).toEqual([master.master]);
    expect((await roles(admin, pods)).get(ordinal)?.role).toBe('replica');
    expect(await missing()).toEqual([]);
  }, CASE_MS);

  it('attaches a pod whose volume was lost (a new node) as replica of the master that replaced it, and forgets its old node', async () => {
    const missing = await ownKeys('lost-volume');
    const start = await until(healthy);
    const master = start.last.shards[1] as { master: string; replicas: string[] };
    const ordinal = Number(master.master.replace('redis-', ''));
    const oldId = (await roles(admin, pods)).get(ordinal)?.id as string;
    await pods.kill(ordinal);
    await until((r) => r.shards.some((s) => s.master === master.replicas[0]));
    await pods.restart(ordinal, { wipe: true });
    const { results, last } = await until(healthy);
    const kinds = results.flatMap((r) => r.actions.filter((a) => a.ok).map((a) => a.kind));
    expect(kinds).toEqual(expect.arrayContaining(['meet', 'replicate', 'forget']));
    expect(last.shards.find((s) => s.master === master.replicas[0])?.replicas).toEqual([master.master]);
    expect((await roles(admin, pods)).get(ordinal)?.id).not.toBe(oldId);
    expect(await knownIds()).not.toContain(oldId);
    expect(await missing()).toEqual([]);
  }, CASE_MS);

  it('forgets, on every node, a node that is gone and that no pod is', async () => {
    const stranger = await LocalRedisPods.create(1);
    try {
      const id = (myselfOf(await admin.nodes(stranger.addr(0))) as ClusterNodeRecord).id;
      await admin.meet(pods.addr(0), { ...stranger.addr(0), busPort: (myselfOf(await admin.nodes(stranger.addr(0))) as ClusterNodeRecord).busPort });
      await eventually('the cluster knows the stranger', async () => (await knownIds()).has(id));
      await stranger.kill(0);
      const { results } = await until(healthy);
      expect(results.flatMap((r) => r.actions).some((a) => a.kind === 'forget' && a.ok && a.message.includes(id.slice(0, 8)))).toBe(true);
      expect(await knownIds()).not.toContain(id);
    } finally {
      await stranger.stop();
    }
  }, CASE_MS);

  type Interruption = 'importing only' | 'migrating only' | 'both marks, no key moved' | 'half the keys moved' | 'every key moved, only the target told';
  it.each<Interruption>(['importing only', 'migrating only', 'both marks, no key moved', 'half the keys moved', 'every key moved, only the target told'])(
    'finishes a migration interrupted with %s, every key readable',
    async (how) => {
      const tag = `mig-${how.replace(/\W+/g, '-')}`;
      const missing = await ownKeys(tag);
      const start = await until(healthy);
      const keys = Array.from({ length: 60 }, (_, i) => `{${tag}}:${i}`);
      const slot = calculateSlot(keys[0] as string);
      await withClient(async (c) => {
        for (const k of keys) await c.set(k, `value of ${k}`);
      });
      const r = await roles(admin, pods);
      const [srcOrdinal, src] = [...r].find(([, me]) => me.slots.some((x) => x.start <= slot && slot <= x.end)) as [number, ClusterNodeRecord];
      const [dstOrdinal, dst] = [...r].find(([o, me]) => me.role === 'master' && o !== srcOrdinal) as [number, ClusterNodeRecord];
      const from = pods.addr(srcOrdinal);
      const to = pods.addr(dstOrdinal);
      if (how !== 'migrating only') await admin.setSlot(to, slot, 'importing', src.id);
      if (how !== 'importing only') await admin.setSlot(from, slot, 'migrating', dst.id);
      const move = async (n: number) => {
        const batch = (await admin.command(from, 'cluster', 'getkeysinslot', slot, n)) as string[];
        await admin.command(from, 'migrate', to.host, to.port, '', 0, 5000, 'KEYS', ...batch);
      };
      if (how === 'half the keys moved') await move(30);
      if (how === 'every key moved, only the target told') {
        await move(60);
        await admin.setSlot(to, slot, 'node', dst.id);
      }
      const { results } = await until(healthy);
      expect(results.flatMap((x) => x.actions).some((a) => a.kind === 'fix-open-slot' && a.ok)).toBe(true);
      expect(start.last.shards.length).toBe(3);
      for (const v of pods.views()) {
        const view = await admin.nodes(pods.addr(v.ordinal));
        expect(view.nodes.find((n) => n.slots.some((x) => x.start <= slot && slot <= x.end))?.id).toBe(dst.id);
        expect(view.nodes.every((n) => n.migrating.length + n.importing.length === 0)).toBe(true);
      }
      await withClient(async (c) => {
        for (const k of keys) expect(await c.get(k)).toBe(`value of ${k}`);
      });
      expect(await missing()).toEqual([]);
    },
    CASE_MS,
  );
});

describe('RedisLifecycle scales 3 → 5 → 3 masters (1 replica each) with 20,000 keys', () => {
  const KEYS = 20_000;
  // With requirepass, as in the pods: MIGRATE has to authenticate to the target.
  const password = 'lifecycle-secret';
  let pods: LocalRedisPods;
  let admin: RedisClusterAdmin;
  let lifecycle: RedisLifecycle;

  /** A client reading the 20,000 keys and writing/reading keys of its own until stopped; every error it sees is kept. */
  function concurrentClient(): { stop: () => Promise<{ ops: number; errors: string[] }> } {
    const client = clientFor(pods, password);
    const errors: string[] = [];
    let ops = 0;
    let running = true;
    const loop = (async () => {
      for (let i = 0; running; i++) {
        const k = (i * 7919) % KEYS;
        try {
          const v = await client.get(`scale:${k}`);
          if (v !== `v${k}`) errors.push(`scale:${k} read ${String(v)}`);
          await client.set(`live:${i}`, String(i));
          const back = await client.get(`live:${i}`);
          if (back !== String(i)) errors.push(`live:${i} read ${String(back)}`);
          ops += 3;
        } catch (err) {
          errors.push(`op ${i}: ${(err as Error).message}`);
        }
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        client.disconnect();
        return { ops, errors };
      },
    };
  }

  beforeAll(async () => {
    pods = await LocalRedisPods.create(6, { password });
    admin = new RedisClusterAdmin({ logger: log, password });
    lifecycle = new RedisLifecycle(admin, { log });
    await drive(lifecycle, pods, { masters: 3, replicasPerMaster: 1, until: healthy });
    const client = clientFor(pods, password);
    try {
      await writeKeys(client, 'scale', KEYS);
    } finally {
      client.disconnect();
    }
  });
  afterAll(async () => {
    await admin?.close();
    await pods?.stop();
  });

  it.each([
    { masters: 5, pods: 10, keepers: ['redis-0', 'redis-1', 'redis-2', 'redis-6', 'redis-7'] },
    { masters: 3, pods: 6, keepers: ['redis-0', 'redis-1', 'redis-2'] },
  ])('to $masters masters (operator restarted half-way): every key readable, no error reached a concurrent client', async (step) => {
    if (step.pods > pods.count) await pods.scaleTo(step.pods);
    const traffic = concurrentClient();
    const startedAt = Date.now();
    const spec = { masters: step.masters, replicasPerMaster: 1, maxSteps: 2000, timeoutMs: 600_000 };
    // Half-way, the "operator" restarts: a new engine and admin carry on from what the nodes say.
    const firstHalf = await drive(lifecycle, pods, { ...spec, until: (r) => (r.migration?.slotsRemaining ?? Infinity) < 3000 });
    await admin.close();
    admin = new RedisClusterAdmin({ logger: log, password });
    lifecycle = new RedisLifecycle(admin, { log });
    const secondHalf = await drive(lifecycle, pods, { ...spec, until: (r) => healthy(r) && pods.count === step.pods });
    const results = [...firstHalf.results, ...secondHalf.results];
    const last = secondHalf.last;
    const seconds = (Date.now() - startedAt) / 1000;
    const { ops, errors } = await traffic.stop();
    const moved = results.reduce((n, r) => n + (r.migration?.slotsMoved ?? 0), 0);
    console.log(`scale to ${step.masters} masters: ${results.length} steps, ${moved} slots moved in ${seconds.toFixed(1)} s; concurrent client: ${ops} ops, ${errors.length} errors`);

    expect(errors).toEqual([]);
    expect(pods.count).toBe(step.pods);
    expect(last.shards).toHaveLength(step.masters);
    for (const s of last.shards) expect(s.replicas).toHaveLength(1);
    const sizes = last.shards.map((s) => s.slots);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(Math.max(1, Math.floor(16384 / step.masters / 100)));
    expect(last.shards.map((s) => s.master)).toEqual(step.keepers);
    for (const v of pods.views()) expect((await admin.clusterInfo(pods.addr(v.ordinal))).knownNodes).toBe(step.pods);
    const client = clientFor(pods, password);
    try {
      expect(await missingKeys(client, 'scale', KEYS)).toEqual([]);
    } finally {
      client.disconnect();
    }
  }, 900_000);
});
