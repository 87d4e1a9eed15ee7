/**
 * Session cache invalidation across a Redis failover, on a Redis Cluster of this file's own (a
 * master is killed): the logic node resubscribes its sharded channels on the new master, drops
 * what it may have missed meanwhile, and is kept fresh by notices again afterwards.
 */
import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presenceChannelOf } from '../../../runtime/presence/presence-channels.js';
import type { DeliverFrame, ResFrame } from '../../../runtime/protocol/internal-frames.js';
import { startRedisCluster, type TestRedisCluster } from '../../support/redis-cluster.js';
import type { GateDriver } from './gate-driver.js';
import { startTestLogic, uid } from './logic-fixture.js';
import { eventually } from '../../support/eventually.js';

const CHANNELS = 64;
let cluster: TestRedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  // A replica can take over only once it has synchronised with its master.
  await eventually('replicas in sync', async () => {
    const replies = await Promise.all(cluster.seeds.slice(3).map((seed) => cluster.admin.command(addrOf(seed), 'info', 'replication')));
    return replies.every((r) => String(r).includes('master_link_status:up'));
  });
});
afterAll(async () => {
  await cluster?.stop();
});

/** Retry while Redis is failing over (UNAVAILABLE; sends are idempotent by client id). */
async function retry<T>(what: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  let done: { value: T } | null = null;
  await eventually(what, async () => {
    done = { value: await fn() };
    return true;
  }, { timeoutMs, retryErrors: true });
  return (done as unknown as { value: T }).value;
}

function addrOf(seed: string): { host: string; port: number } {
  const colon = seed.lastIndexOf(':');
  return { host: seed.slice(0, colon), port: Number(seed.slice(colon + 1)) };
}

function usersGiven(gate: GateDriver, groupId: string, seq: number): string[] {
  return gate
    .delivers(groupId)
    .filter((f: DeliverFrame) => f.path === 'online' && f.msgs.some((m) => m.seq === seq))
    .flatMap((f) => f.users ?? [])
    .sort();
}

describe('invalidation across a failover', () => {
  it('resubscribes on the new master, drops the entries of the affected buckets, and applies notices again', { timeout: 120_000 }, async () => {
    const logic = await startTestLogic(cluster.seeds, { IMGROUP_SESSION_TTL_MS: '60000', IMGROUP_PRESENCE_CHANNELS: String(CHANNELS), IMGROUP_REDIS_COMMAND_TIMEOUT_MS: '1000' });
    try {
      const gate = await logic.driver();
      const presence = gate.presence(logic.store);
      await presence.register();
      const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
      const g = uid('g');
      await gate.call({ op: 'members.update', groupId: g, add: [alice, bob, carol], remove: [] });
      await presence.connect(carol, 'carol-1');
      const allSubscribed = () => {
        const c = logic.node.invalidationChannels();
        return c.subscribed === c.expected;
      };
      await eventually('subscribed', allSubscribed);
      const send = async (seq: number) => {
        await retry(`send ${seq}`, async () => {
          const res: ResFrame = await gate.request({ op: 'send', userId: alice, groupId: g, clientId: `m${seq}`, body: `${seq}` });
          if (!res.ok) throw new Error(`${res.code}: ${res.message}`);
        });
        await gate.until(() => usersGiven(gate, g, seq).includes(carol), 30_000);
        return usersGiven(gate, g, seq);
      };
      expect(await send(1)).toEqual([carol]);

      // Kill the master that serves bob's presence channel: the subscription can only come back on its replica.
      const slot = calculateSlot(presenceChannelOf(bob, CHANNELS));
      const master = logic.store.cluster.slots[slot]?.[0];
      const index = cluster.seeds.indexOf(master as string);
      expect(index).toBeGreaterThanOrEqual(0);
      const resubscribed = await logic.metric('imgroup_logic_session_cache_invalidations_total', { source: 'resubscribe' });
      await cluster.nodes[index]?.kill();

      await eventually('resubscribed after the failover', async () => allSubscribed() && (await logic.metric('imgroup_logic_session_cache_invalidations_total', { source: 'resubscribe' })) > resubscribed, 60_000);

      // bob's entry was dropped: the next message reads presence again and caches bob as offline ...
      expect(await send(2)).toEqual([carol]);
      // ... and the notice of his connect, published on the new master, reaches the cache.
      const notices = await logic.metric('imgroup_logic_session_cache_invalidations_total', { kind: 'presence', source: 'notice' });
      await retry('connect bob', () => presence.connect(bob, 'bob-1'));
      await eventually('notice applied', async () => (await logic.metric('imgroup_logic_session_cache_invalidations_total', { kind: 'presence', source: 'notice' })) > notices);
      expect(await send(3)).toEqual([bob, carol].sort());
    } finally {
      await logic.close();
    }
  });
});
