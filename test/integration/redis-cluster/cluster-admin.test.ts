import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterAdminError } from '../../../runtime/redis-cluster/cluster-admin-error.js';
import { RedisClusterAdmin } from '../../../runtime/redis-cluster/cluster-admin.js';
import { myselfOf } from '../../../runtime/redis-cluster/cluster-nodes.js';
import { slotMapOf } from '../../../runtime/redis-cluster/slot-map.js';
import { RedisServerProcess } from '../../../runtime/dev/redis-server-process.js';
import { eventually } from '../../support/eventually.js';
import { getFreePorts } from '../../support/free-ports.js';
import { startRedisCluster, type TestRedisCluster, clusterClient } from '../../support/redis-cluster.js';

/** Fresh, unclustered nodes on free ports (not formed into anything). */
async function startBareNodes(dir: string, count: number): Promise<RedisServerProcess[]> {
  const ports = await getFreePorts(2 * count);
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      RedisServerProcess.start({ port: ports[i] as number, busPort: ports[count + i] as number, dir: join(dir, String(i)), clusterNodeTimeoutMs: 2000 }),
    ),
  );
}

const addrOf = (n: RedisServerProcess) => ({ host: n.addr.host, port: n.addr.port });

describe('RedisClusterAdmin.formCluster on 3 masters + 3 replicas', () => {
  let cluster: TestRedisCluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('leaves every node with cluster_state:ok and all 16384 slots served', async () => {
    for (const n of cluster.nodes) {
      const info = await cluster.admin.clusterInfo(addrOf(n));
      expect(info.state).toBe('ok');
      expect(info.slotsAssigned).toBe(16384);
      expect(info.slotsOk).toBe(16384);
      expect(info.knownNodes).toBe(6);
      expect(info.size).toBe(3);
    }
  });

  it('makes every node agree on one slot map in which each master has one replica', async () => {
    const signatures = new Set<string>();
    for (const n of cluster.nodes) {
      const view = await cluster.admin.nodes(addrOf(n));
      expect(view.rejected).toEqual([]);
      signatures.add(slotMapOf(view.nodes).signature);
      const masters = view.nodes.filter((x) => x.role === 'master');
      expect(masters).toHaveLength(3);
      for (const m of masters) {
        expect(m.slots.length).toBeGreaterThan(0);
        expect(view.nodes.filter((x) => x.role === 'replica' && x.masterId === m.id)).toHaveLength(1);
      }
    }
    expect(signatures.size).toBe(1);
  });

  it('gives the slots to the first three nodes and makes the others their replicas', async () => {
    for (const n of cluster.nodes.slice(0, 3)) expect((await cluster.admin.myself(addrOf(n))).role).toBe('master');
    for (const n of cluster.nodes.slice(3)) expect((await cluster.admin.myself(addrOf(n))).role).toBe('replica');
  });

  it('serves reads and writes through an ioredis Cluster client', async () => {
    const client = clusterClient(cluster.seeds);
    try {
      for (let i = 0; i < 50; i++) await client.set(`admin-test:${i}`, String(i));
      for (let i = 0; i < 50; i++) expect(await client.get(`admin-test:${i}`)).toBe(String(i));
    } finally {
      client.disconnect();
    }
  });

  it('refuses to bootstrap over the formed cluster and changes nothing', async () => {
    const admin = new RedisClusterAdmin();
    try {
      const before = slotMapOf((await admin.nodes(addrOf(cluster.nodes[0] as RedisServerProcess))).nodes).signature;
      const err = await admin
        .formCluster({ masters: cluster.nodes.slice(0, 3).map(addrOf), replicas: cluster.nodes.slice(3).map(addrOf), timeoutMs: 5000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterAdminError);
      expect((err as ClusterAdminError).code).toBe('SLOTS_ASSIGNED');
      expect((err as ClusterAdminError).terminal).toBe(true);
      expect((err as Error).message).toMatch(/refusing to bootstrap/);
      const after = slotMapOf((await admin.nodes(addrOf(cluster.nodes[0] as RedisServerProcess))).nodes).signature;
      expect(after).toBe(before);
    } finally {
      await admin.close();
    }
  });

  it('moves a slot with its keys to another master (migrateSlot)', async () => {
    const client = clusterClient(cluster.seeds);
    try {
      const keys = Array.from({ length: 250 }, (_, i) => `{migrate-me}:${i}`);
      const slot = calculateSlot(keys[0] as string);
      for (const k of keys) await client.set(k, k);
      const view = await cluster.admin.nodes(addrOf(cluster.nodes[0] as RedisServerProcess));
      const owner = view.nodes.find((n) => n.slots.some((r) => r.start <= slot && slot <= r.end));
      const target = view.nodes.find((n) => n.role === 'master' && n.id !== owner?.id);
      expect(owner && target).toBeTruthy();
      const from = { host: owner!.host, port: owner!.port };
      const to = { host: target!.host, port: target!.port };

      const moved = await cluster.admin.migrateSlot(slot, from, to, { keysPerBatch: 100 });
      expect(moved).toEqual({ keysMoved: 250, batches: 3, alreadyMoved: false });

      await cluster.admin.waitHealthy({ nodes: cluster.nodes.map(addrOf), timeoutMs: 20_000 });
      for (const n of cluster.nodes) {
        const v = await cluster.admin.nodes(addrOf(n));
        expect(v.nodes.find((x) => x.slots.some((r) => r.start <= slot && slot <= r.end))?.id).toBe(target!.id);
      }
      expect(await cluster.admin.command(to, 'cluster', 'countkeysinslot', slot)).toBe(250);
      expect(await cluster.admin.command(from, 'cluster', 'countkeysinslot', slot)).toBe(0);
      for (const k of keys) expect(await client.get(k)).toBe(k);

      const again = await cluster.admin.migrateSlot(slot, from, to);
      expect(again.alreadyMoved).toBe(true);
    } finally {
      client.disconnect();
    }
  });
});

describe('RedisClusterAdmin.formCluster refusals', () => {
  let dir: string;
  let nodes: RedisServerProcess[] = [];
  const admin = new RedisClusterAdmin();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imgroup-admin-'));
    nodes = await startBareNodes(dir, 3);
  });
  afterAll(async () => {
    await admin.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses when one node already serves a slot, before introducing any node', async () => {
    const [a, b, c] = nodes.map(addrOf) as [ReturnType<typeof addrOf>, ReturnType<typeof addrOf>, ReturnType<typeof addrOf>];
    await admin.command(c, 'cluster', 'addslots', 42);
    const err = await admin.formCluster({ masters: [a, b, c], timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterAdminError);
    expect((err as ClusterAdminError).code).toBe('SLOTS_ASSIGNED');
    expect((err as Error).message).toContain(`${c.host}:${c.port}`);
    for (const n of [a, b, c]) expect((await admin.clusterInfo(n)).knownNodes).toBe(1);
    await admin.command(c, 'cluster', 'delslots', 42);
  });

  it('refuses when a node holds keys', async () => {
    // A slotless node rejects writes; this one takes a slot (serving it despite the uncovered rest),
    // stores a key, and gives the slot back: no slots, one key.
    const [port, bus] = await getFreePorts(2);
    const full = await RedisServerProcess.start({
      port: port as number,
      busPort: bus as number,
      dir: join(dir, 'with-keys'),
      extraArgs: ['--cluster-require-full-coverage', 'no'],
    });
    try {
      const b = addrOf(full);
      await admin.command(b, 'cluster', 'addslots', calculateSlot('k'));
      await eventually('SET k accepted', async () => (await admin.command(b, 'set', 'k', 'v').catch((e: Error) => e.message)) === 'OK');
      await admin.command(b, 'cluster', 'delslots', calculateSlot('k'));
      expect(await admin.dbSize(b)).toBe(1);
      const err = await admin.formCluster({ masters: [addrOf(nodes[0] as RedisServerProcess), b], timeoutMs: 5000 }).catch((e: unknown) => e);
      expect((err as ClusterAdminError).code).toBe('NOT_EMPTY');
      expect((await admin.clusterInfo(addrOf(nodes[0] as RedisServerProcess))).knownNodes).toBe(1);
    } finally {
      await full.stop();
    }
  });

  it('refuses when a node already knows a live node outside the request', async () => {
    const [d] = await startBareNodes(join(dir, 'foreign'), 1);
    try {
      const [a, b, c] = nodes.map(addrOf) as [ReturnType<typeof addrOf>, ReturnType<typeof addrOf>, ReturnType<typeof addrOf>];
      await admin.meet(c, { ...addrOf(d as RedisServerProcess), busPort: d!.addr.busPort });
      await eventually('the foreign node met', async () => (await admin.nodes(c)).nodes.filter((n) => !n.flags.has('handshake')).length === 2);
      const err = await admin.formCluster({ masters: [a, b, c], timeoutMs: 5000 }).catch((e: unknown) => e);
      expect((err as ClusterAdminError).code).toBe('FOREIGN_NODES');
      expect((err as Error).message).toContain(`:${d!.addr.port}`);
      expect((await admin.clusterInfo(a)).knownNodes).toBe(1);
    } finally {
      await d?.stop();
    }
  });

  it('refuses a node started without cluster support', async () => {
    const [port, bus] = await getFreePorts(2);
    const plain = await RedisServerProcess.start({
      port: port as number,
      busPort: bus as number,
      dir: join(dir, 'plain'),
      extraArgs: ['--cluster-enabled', 'no'],
    });
    try {
      const err = await admin.formCluster({ masters: [addrOf(nodes[0] as RedisServerProcess), addrOf(plain)], timeoutMs: 5000 }).catch((e: unknown) => e);
      expect((err as ClusterAdminError).code).toBe('NOT_CLUSTER');
    } finally {
      await plain.stop();
    }
  });

  it('then forms a one-master cluster from the cleaned nodes and a second call is refused', async () => {
    const [a, b] = nodes.map(addrOf) as [ReturnType<typeof addrOf>, ReturnType<typeof addrOf>];
    const formed = await admin.formCluster({ masters: [a], replicas: [b], timeoutMs: 20_000 });
    expect(formed.health.healthy).toBe(true);
    expect(myselfOf(await admin.nodes(b))?.masterId).toBe(formed.ids.get(`${a.host}:${a.port}`));
    const again = await admin.formCluster({ masters: [a], replicas: [b], timeoutMs: 5000 }).catch((e: unknown) => e);
    expect((again as ClusterAdminError).code).toBe('SLOTS_ASSIGNED');
  });
});
