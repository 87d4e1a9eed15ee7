import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RedisPresenceReader, RedisPresenceWriter } from '../../../runtime/presence/presence-redis.js';
import { pino } from 'pino';
import { bucketOf, decodePresenceChange, DEFAULT_PRESENCE_CHANNELS, presenceChannelOf } from '../../../runtime/presence/presence-channels.js';
import type { PresenceChange } from '../../../runtime/presence/presence.js';
import { ShardedSubscriber } from '../../../runtime/logic/sharded-subscriber.js';
import { keys } from '../../../runtime/redis/keys.js';
import { createRedisMetrics } from '../../../runtime/redis/redis-metrics.js';
import { createCluster, RedisStore } from '../../../runtime/redis/redis-store.js';
import { eventually } from '../../support/eventually.js';

const seeds = inject('redisSeeds');
const MASTERS = 3;
const run = randomUUID().slice(0, 8);
/** Names unique to this run: the cluster is shared by every integration test file. */
const id = (what: string) => `${what}-${run}-${randomUUID().slice(0, 6)}`;

let store: RedisStore;
let registry: Registry;

async function roundtrips(): Promise<number> {
  return (await registry.getSingleMetric('imgroup_redis_roundtrips_total')!.get()).values[0]?.value ?? 0;
}

function writer(gate: string, boot: string = randomUUID(), ttlMs = 30_000): RedisPresenceWriter {
  return new RedisPresenceWriter(store, { gate, boot, ttlMs, publishChanges: true, channels: DEFAULT_PRESENCE_CHANNELS });
}

/** A reader that never trusts its liveness cache, so every lookup sees Redis as it is now. */
const freshReader = () => new RedisPresenceReader(store, { gateCacheMs: 0 });

beforeAll(async () => {
  registry = new Registry();
  const cluster = createCluster({ seeds, commandTimeoutMs: 2000 });
  store = new RedisStore(cluster, createRedisMetrics(registry));
  if (cluster.status !== 'ready') await once(cluster, 'ready');
});
afterAll(async () => {
  await store?.close();
});

describe('Redis presence', () => {
  it('shows a connected device and stops showing it after disconnect', async () => {
    const gate = id('gate');
    const boot = randomUUID();
    const w = writer(gate, boot);
    await w.register();
    const user = id('user');
    await w.connect(user, 'c1');
    const seen = await freshReader().lookup([user]);
    expect(seen.devices.get(user)).toEqual([{ gate, boot, connId: 'c1' }]);
    expect(seen.readAtMs).toBeGreaterThan(0);

    await w.disconnect(user, 'c1');
    expect((await freshReader().lookup([user])).devices.has(user)).toBe(false);
  });

  it('reassert writes open devices again and counts those that were missing', async () => {
    const gate = id('gate');
    const boot = randomUUID();
    const w = writer(gate, boot);
    await w.register();
    const [kept, lost] = [id('user'), id('user')];
    await w.connect(kept, 'c1');
    await w.connect(lost, 'c2');
    await store.call('del', keys.userPresence(lost)); // as a failover that lost the write
    expect((await freshReader().lookup([lost])).devices.has(lost)).toBe(false);
    expect(await w.reassert([{ userId: kept, connId: 'c1' }, { userId: lost, connId: 'c2' }])).toBe(1);
    const seen = await freshReader().lookup([kept, lost]);
    expect(seen.devices.get(lost)).toEqual([{ gate, boot, connId: 'c2' }]);
    expect(seen.devices.get(kept)).toEqual([{ gate, boot, connId: 'c1' }]);
    expect(await w.reassert([])).toBe(0);
  });

  it('lists every device of one user across two gates, and only those', async () => {
    const [gateA, gateB] = [id('gate-a'), id('gate-b')];
    const [a, b] = [writer(gateA), writer(gateB)];
    await Promise.all([a.register(), b.register()]);
    const [user, other] = [id('user'), id('other')];
    await a.connect(user, 'phone');
    await a.connect(user, 'laptop');
    await b.connect(user, 'tablet');
    await b.connect(other, 'phone');

    const seen = await freshReader().lookup([user, user, other, id('nobody')]);
    expect(seen.devices.size).toBe(2);
    const devices = seen.devices.get(user) ?? [];
    expect(devices.map((d) => `${d.gate}/${d.connId}`).sort()).toEqual([`${gateA}/laptop`, `${gateA}/phone`, `${gateB}/tablet`].sort());

    await a.unregister([
      { userId: user, connId: 'phone' },
      { userId: user, connId: 'laptop' },
    ]);
    expect((await freshReader().lookup([user])).devices.get(user)?.map((d) => d.connId)).toEqual(['tablet']);
  });

  it('stops counting the users of a gate whose liveness key expired, without deleting them', async () => {
    const gate = id('gate-dies');
    // A liveness TTL short enough to wait out, long enough that the first lookup sees it alive on a busy machine.
    const w = writer(gate, randomUUID(), 2000);
    await w.register();
    const user = id('user');
    await w.connect(user, 'c1');
    expect((await freshReader().lookup([user])).devices.has(user)).toBe(true);

    // No heartbeat: the key expires after its TTL.
    await eventually('the gate’s liveness key expired', async () => (await store.call<number>('exists', keys.gateAlive(gate))) === 0, { intervalMs: 50 });
    expect((await freshReader().lookup([user])).devices.has(user)).toBe(false);
    // The gate may only be late with its heartbeat: its devices stay until it is back or restarted.
    expect(await store.call('hget', keys.userPresence(user), 'c1')).not.toBeNull();
    // The heartbeat after the lapse says so (the gate then announces its users again); the next one does not.
    expect(await w.heartbeat()).toBe(false);
    expect((await freshReader().lookup([user])).devices.get(user)?.map((d) => d.connId)).toEqual(['c1']);
    expect(await w.heartbeat()).toBe(true);
  });

  it('announce publishes one online notice per device on its user’s channel', async () => {
    const gate = id('gate-announces');
    const boot = randomUUID();
    const w = writer(gate, boot);
    await w.register();
    const users = [id('user'), id('user')];
    const bucketOfChannel = new Map(users.map((u) => [presenceChannelOf(u, DEFAULT_PRESENCE_CHANNELS), bucketOf(u, DEFAULT_PRESENCE_CHANNELS)]));
    const channels = [...bucketOfChannel.keys()];
    const heard: PresenceChange[] = [];
    let subscribed = 0;
    const sub = new ShardedSubscriber(store, {
      channels,
      checkIntervalMs: 200,
      onMessage: (channel, text) => {
        const change = decodePresenceChange(text, bucketOfChannel.get(channel) ?? -1, DEFAULT_PRESENCE_CHANNELS);
        if (change) heard.push(change);
      },
      onSubscribed: (list) => void (subscribed += list.length),
      log: pino({ level: 'silent' }),
    });
    sub.start();
    try {
      await eventually('subscribed to the users’ channels', () => subscribed >= channels.length);
      await w.announce([
        { userId: users[0]!, connId: 'a1' },
        { userId: users[1]!, connId: 'b1' },
      ]);
      await eventually('both notices arrive', () => heard.length >= 2);
      expect(heard.map((c) => [c.userId, c.online, c.device]).sort()).toEqual(
        [
          [users[0], true, { gate, boot, connId: 'a1' }],
          [users[1], true, { gate, boot, connId: 'b1' }],
        ].sort(),
      );
      // Presence itself is untouched.
      expect((await freshReader().lookup(users)).devices.size).toBe(0);
    } finally {
      await sub.close();
    }
  });

  it('treats the devices of a restarted gate’s earlier incarnation as dead and deletes them lazily', async () => {
    const gate = id('gate-restarts');
    const before = writer(gate, 'boot-1');
    await before.register();
    const [user, user2] = [id('user'), id('user2')];
    await before.connect(user, 'old-1');
    await before.connect(user, 'old-2');
    await before.connect(user2, 'old-3');

    const after = writer(gate, 'boot-2');
    await after.register();
    await after.connect(user, 'new-1');

    const seen = await freshReader().lookup([user, user2]);
    expect(seen.devices.get(user)).toEqual([{ gate, boot: 'boot-2', connId: 'new-1' }]);
    expect(seen.devices.has(user2)).toBe(false);
    await eventually('the earlier incarnation’s devices of user deleted', async () => JSON.stringify(await store.call<string[]>('hkeys', keys.userPresence(user))) === '["new-1"]', { intervalMs: 50 });
    await eventually('the earlier incarnation’s devices of user2 deleted', async () => (await store.call<number>('exists', keys.userPresence(user2))) === 0, { intervalMs: 50 });
  });

  it('looks up 1,000 users in at most one round trip per master for devices plus one per master for gates', async () => {
    const gates = [id('gate-x'), id('gate-y'), id('gate-z')];
    const writers = gates.map((g) => writer(g));
    await Promise.all(writers.map((w) => w.register()));
    const users = Array.from({ length: 1000 }, (_, i) => `${id('bulk')}-${i}`);
    await Promise.all(users.map((u, i) => (writers[i % 3] as RedisPresenceWriter).connect(u, `c${i}`)));

    const reader = freshReader();
    const trips0 = await roundtrips();
    const seen = await reader.lookup(users);
    expect((await roundtrips()) - trips0).toBeLessThanOrEqual(MASTERS + MASTERS);
    expect(seen.devices.size).toBe(1000);
    expect(seen.devices.get(users[4] as string)).toEqual([expect.objectContaining({ gate: gates[1], connId: 'c4' })]);
  });

  it('reads gate liveness at most once per gateCacheMs', async () => {
    const gate = id('gate-cached');
    const w = writer(gate);
    await w.register();
    const user = id('user');
    await w.connect(user, 'c1');
    const reader = new RedisPresenceReader(store, { gateCacheMs: 60_000 });
    await reader.lookup([user]);
    const trips0 = await roundtrips();
    await reader.lookup([user]);
    expect((await roundtrips()) - trips0).toBe(1); // the HGETALL only
  });
});
