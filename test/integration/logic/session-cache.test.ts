/**
 * The session cache of a real logic node against the shared Redis Cluster: what a message costs
 * in Redis commands with a warm cache and without one, freshness by change notices (and the
 * plain TTL mode without them), self-correction by `missed`, single flight, the size bounds, and
 * coalesced cursor writes. Test drivers play the gates and write presence the way gates do
 * (including the SPUBLISH of each change).
 */
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createLogicMetrics } from '../../../runtime/logic/logic-metrics.js';
import { MemberCache } from '../../../runtime/logic/member-cache.js';
import { PresenceCache } from '../../../runtime/logic/presence-cache.js';
import { SessionCache } from '../../../runtime/logic/session-cache.js';
import { RedisPresenceReader, type RedisPresenceWriter } from '../../../runtime/presence/presence-redis.js';
import type { DeliverFrame } from '../../../runtime/protocol/internal-frames.js';
import { keys } from '../../../runtime/redis/keys.js';
import { createRedisMetrics } from '../../../runtime/redis/redis-metrics.js';
import { createCluster, RedisStore } from '../../../runtime/redis/redis-store.js';
import type { GateDriver } from './gate-driver.js';
import { startTestLogic, type TestLogic, uid } from './logic-fixture.js';
import { eventually } from '../../support/eventually.js';

const seeds = inject('redisSeeds');
const open: TestLogic[] = [];

afterEach(async () => {
  for (const l of open.splice(0)) await l.close();
});

async function logicNode(env: Record<string, string> = {}): Promise<TestLogic> {
  const logic = await startTestLogic(seeds, env);
  open.push(logic);
  return logic;
}

/** Wait until every invalidation channel is subscribed (a no-op when invalidation is off). */
async function subscribed(logic: TestLogic): Promise<void> {
  await eventually('invalidation channels subscribed', async () => {
    const c = logic.node.invalidationChannels();
    return c.subscribed === c.expected;
  });
}

/** The users a gate was asked to deliver `seq` of `groupId` to (online path). */
function usersGiven(gate: GateDriver, groupId: string, seq: number): string[] {
  return gate
    .delivers(groupId)
    .filter((f: DeliverFrame) => f.path === 'online' && f.msgs.some((m) => m.seq === seq))
    .flatMap((f) => f.users ?? [])
    .sort();
}

/** Fan-out batches done (the count of the recipients histogram). */
async function fanoutBatches(logic: TestLogic): Promise<number> {
  const m = await logic.registry.getSingleMetric('imgroup_logic_fanout_recipients')?.get();
  return m?.values.find((v) => (v as { metricName?: string }).metricName === 'imgroup_logic_fanout_recipients_count')?.value ?? 0;
}

async function commandsByName(logic: TestLogic): Promise<Map<string, number>> {
  const m = await logic.registry.getSingleMetric('imgroup_redis_commands_total')?.get();
  return new Map((m?.values ?? []).map((v) => [String(v.labels.command), v.value]));
}

function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of after) if (value - (before.get(name) ?? 0) > 0) out[name] = value - (before.get(name) ?? 0);
  return out;
}

interface Cost {
  total: number;
  byCommand: Record<string, number>;
}

/**
 * One message to a group of 200 members, 100 of them online on two gates, every online member
 * acking it, the acks written: the Redis commands of the logic node for all of it (after one
 * warm-up message of the same kind).
 */
async function costOfOneMessage(env: Record<string, string>): Promise<Cost> {
  const logic = await logicNode({ IMGROUP_CURSOR_FLUSH_MS: '60000', ...env });
  const gates = [await logic.driver(), await logic.driver()] as const;
  const writers = gates.map((g) => g.presence(logic.store));
  for (const w of writers) await w.register();
  const members = Array.from({ length: 200 }, (_, i) => uid(`m${i}`));
  const online = members.slice(0, 100);
  const g = uid('g');
  await gates[0].call({ op: 'members.update', groupId: g, add: members, remove: [] });
  await Promise.all(online.map((u, i) => (writers[i % 2] as RedisPresenceWriter).connect(u, `c-${u}`)));
  await subscribed(logic);
  const round = async (seq: number) => {
    const acked = await logic.metric('imgroup_logic_acks_total', { result: 'applied' });
    await gates[0].call({ op: 'send', userId: members[0] as string, groupId: g, clientId: `m${seq}`, body: `message ${seq}` });
    for (const [i, gate] of gates.entries()) {
      const want = online.filter((_, j) => j % 2 === i).sort();
      await gate.until(() => usersGiven(gate, g, seq).length === want.length);
      expect(usersGiven(gate, g, seq)).toEqual(want);
    }
    online.forEach((u, i) => gates[i % 2]!.notify({ t: 'ack', userId: u, groupId: g, seq }));
    await eventually('acks taken', async () => (await logic.metric('imgroup_logic_acks_total', { result: 'applied' })) === acked + online.length);
    await logic.node.flushCursors();
  };
  await round(1);
  const before = await commandsByName(logic);
  await round(2);
  const byCommand = delta(before, await commandsByName(logic));
  const cursors = (await logic.store.call<Record<string, string>>('hgetall', keys.groupCursors(g))) ?? {};
  expect(online.map((u) => cursors[u])).toEqual(online.map(() => '2'));
  expect(members.slice(100).map((u) => cursors[u])).toEqual(members.slice(100).map(() => '0'));
  return { total: Object.values(byCommand).reduce((a, b) => a + b, 0), byCommand };
}

describe('Redis commands per message', () => {
  it('costs at most 3 with a warm cache (200 members, half online, acks included), far more without the cache', async () => {
    const cached = await costOfOneMessage({ IMGROUP_SESSION_TTL_MS: '60000' });
    const uncached = await costOfOneMessage({ IMGROUP_SESSION_TTL_MS: '0' });
    console.info(`Redis commands per message (200 members, 100 online, acks included): cache on ${cached.total} ${JSON.stringify(cached.byCommand)}; cache off ${uncached.total} ${JSON.stringify(uncached.byCommand)}`);
    expect(cached.total).toBeLessThanOrEqual(3);
    expect(cached.byCommand).toEqual({ 'script:log_append': 1, 'script:cursor_write': 1 });
    expect(uncached.total).toBeGreaterThan(cached.total);
    expect(uncached.byCommand.hgetall).toBe(200);
    expect(uncached.byCommand.smembers).toBe(1);
  });
});

describe('freshness', () => {
  /** A group of alice (sender), bob (offline at first) and carol (online witness on the same gate). */
  async function scene(env: Record<string, string>) {
    const logic = await logicNode({ IMGROUP_SESSION_TTL_MS: '60000', ...env });
    const gate = await logic.driver();
    const presence = gate.presence(logic.store);
    await presence.register();
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const g = uid('g');
    await gate.call({ op: 'members.update', groupId: g, add: [alice, bob, carol], remove: [] });
    await presence.connect(carol, 'carol-1');
    await subscribed(logic);
    const send = async (seq: number) => {
      await gate.call({ op: 'send', userId: alice, groupId: g, clientId: `m${seq}`, body: `${seq}` });
      await gate.until(() => usersGiven(gate, g, seq).includes(carol));
      return usersGiven(gate, g, seq);
    };
    return { logic, gate, presence, alice, bob, carol, g, send };
  }

  it('delivers to a member who connected after the cache was filled, without waiting for the TTL (60 s)', async () => {
    const { logic, presence, bob, carol, send } = await scene({});
    expect(await send(1)).toEqual([carol]);
    const notices = await logic.metric('imgroup_logic_session_cache_invalidations_total', { kind: 'presence', source: 'notice' });
    await presence.connect(bob, 'bob-1');
    await eventually('the connect notice reached the cache', async () => (await logic.metric('imgroup_logic_session_cache_invalidations_total', { kind: 'presence', source: 'notice' })) > notices);
    expect(await send(2)).toEqual([bob, carol].sort());
    await presence.disconnect(bob, 'bob-1');
    await eventually('the disconnect notice reached the cache', async () => (await logic.metric('imgroup_logic_session_cache_invalidations_total', { kind: 'presence', source: 'notice' })) > notices + 1);
    expect(await send(3)).toEqual([carol]);
    expect(await logic.metric('imgroup_redis_commands_total', { command: 'hgetall' })).toBe(3);
  });

  it('keeps the stale view until the TTL in plain TTL mode; the message waits behind the cursor', async () => {
    const { logic, gate, presence, bob, carol, g, send } = await scene({ IMGROUP_SESSION_INVALIDATION: 'false' });
    expect(logic.node.invalidationChannels()).toEqual({ subscribed: 0, expected: 0 });
    expect(await send(1)).toEqual([carol]);
    await presence.connect(bob, 'bob-1');
    expect(await send(2)).toEqual([carol]);
    // Nothing is lost: bob's next login replays it, and sync returns it.
    expect(await gate.call({ op: 'login', userId: bob, connId: 'bob-2' })).toEqual({ groups: 1, delivered: 2 });
    expect(gate.delivers(g).filter((f) => f.conns?.includes('bob-2')).flatMap((f) => f.msgs.map((m) => m.seq))).toEqual([1, 2]);
    const synced = await gate.call({ op: 'sync', userId: bob, groupId: g, afterSeq: 1, limit: 10 });
    expect(synced.messages.map((m: { seq: number }) => m.seq)).toEqual([2]);
  });

  it('drops a member list on every node when members.update runs on one of them', async () => {
    const owner = await logicNode({ IMGROUP_SESSION_TTL_MS: '60000' });
    const other = await logicNode({ IMGROUP_SESSION_TTL_MS: '60000' });
    const gate = await other.driver();
    const presence = gate.presence(other.store);
    await presence.register();
    const [alice, dave] = [uid('alice'), uid('dave')];
    const g = uid('g');
    await gate.call({ op: 'members.update', groupId: g, add: [alice], remove: [] });
    await presence.connect(alice, 'alice-1');
    await presence.connect(dave, 'dave-1');
    await subscribed(other);
    await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm1', body: '1' });
    await gate.until(() => usersGiven(gate, g, 1).length === 1);
    const drops = await other.metric('imgroup_logic_session_cache_invalidations_total', { kind: 'members', source: 'notice' });
    // The group is handled by `owner` for a while (a routing change): dave joins there.
    const adminGate = await owner.driver();
    await adminGate.call({ op: 'members.update', groupId: g, add: [dave], remove: [] });
    await eventually('the member-list notice reached the other node', async () => (await other.metric('imgroup_logic_session_cache_invalidations_total', { kind: 'members', source: 'notice' })) > drops);
    await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm2', body: '2' });
    await gate.until(() => usersGiven(gate, g, 2).length === 2);
    expect(usersGiven(gate, g, 2)).toEqual([alice, dave].sort());
  });
});

describe('self-correction', () => {
  it('stops asking a gate for a user it reported missed; the message stays behind the cursor', async () => {
    const logic = await logicNode({ IMGROUP_SESSION_TTL_MS: '60000', IMGROUP_SESSION_INVALIDATION: 'false' });
    const gateA = await logic.driver();
    const gateB = await logic.driver();
    const [pa, pb] = [gateA.presence(logic.store), gateB.presence(logic.store)];
    await pa.register();
    await pb.register();
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const g = uid('g');
    await gateA.call({ op: 'members.update', groupId: g, add: [alice, bob, carol], remove: [] });
    await pa.connect(carol, 'carol-1');
    await pb.connect(bob, 'bob-1');
    await gateA.call({ op: 'send', userId: alice, groupId: g, clientId: 'm1', body: '1' });
    await gateB.until(() => usersGiven(gateB, g, 1).includes(bob));
    // Gate B no longer holds bob's connection (its disconnect never reached Redis): it says so.
    gateB.notify({ t: 'missed', groupId: g, users: [bob] });
    await eventually('the miss was applied', async () => (await logic.metric('imgroup_logic_session_cache_invalidations_total', { source: 'missed' })) === 1);
    expect(await logic.metric('imgroup_logic_missed_users_total')).toBe(1);
    for (const seq of [2, 3]) {
      await gateA.call({ op: 'send', userId: alice, groupId: g, clientId: `m${seq}`, body: `${seq}` });
      await gateA.until(() => usersGiven(gateA, g, seq).includes(carol));
    }
    // Gate A got seq 3 after seq 2's fan-out finished: a frame for gate B would have been sent by then.
    expect(gateB.delivers(g).flatMap((f) => f.msgs.map((m) => m.seq))).toEqual([1]);
    const synced = await gateB.call({ op: 'sync', userId: bob, groupId: g, afterSeq: 0, limit: 10 });
    expect(synced.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3]);
  });
});

describe('bounds', () => {
  it('evicts beyond IMGROUP_SESSION_CACHE_MAX_ENTRIES and counts every eviction', async () => {
    const logic = await logicNode({ IMGROUP_SESSION_TTL_MS: '60000', IMGROUP_SESSION_CACHE_MAX_ENTRIES: '10' });
    const gate = await logic.driver();
    const members = Array.from({ length: 30 }, (_, i) => uid(`m${i}`));
    const g = uid('g');
    await gate.call({ op: 'members.update', groupId: g, add: members, remove: [] });
    await gate.call({ op: 'send', userId: members[0] as string, groupId: g, clientId: 'm1', body: '1' });
    await eventually('fan-out done', async () => (await fanoutBatches(logic)) === 1);
    // 1 member list + 30 presence entries into 10 places: 21 evicted.
    expect(await logic.metric('imgroup_logic_session_cache_evictions_total')).toBe(21);
    expect(await logic.metric('imgroup_logic_session_cache_entries')).toBe(10);
    expect(await logic.metric('imgroup_logic_session_cache_bytes')).toBeGreaterThan(0);
  });
});

describe('single flight against Redis', () => {
  it('merges concurrent misses: one SMEMBERS for 20 fan-outs of a cold group, one HGETALL per user for overlapping lookups', async () => {
    const registry = new Registry();
    const store = new RedisStore(createCluster({ seeds, commandTimeoutMs: 5000 }), createRedisMetrics(registry));
    try {
      const metrics = createLogicMetrics(registry);
      const session = new SessionCache({ sessionTtlMs: 60_000, sessionCacheMaxEntries: 10_000, sessionCacheMaxBytes: 1 << 24, presenceChannels: 64 }, metrics);
      const members = new MemberCache(store, session, metrics, pino({ level: 'silent' }), { publishChanges: false, presenceChannels: 64 });
      const presence = new PresenceCache(new RedisPresenceReader(store, { gateCacheMs: 1000 }), session, metrics);
      const users = Array.from({ length: 30 }, (_, i) => uid(`u${i}`));
      const g = uid('g');
      await store.call('sadd', keys.groupMembers(g), ...users);
      const count = async (command: string) => {
        const m = await registry.getSingleMetric('imgroup_redis_commands_total')?.get();
        return (m?.values ?? []).filter((v) => v.labels.command === command).reduce((s, v) => s + v.value, 0);
      };
      const lists = await Promise.all(Array.from({ length: 20 }, () => members.members(g)));
      expect(lists.every((l) => [...l].sort().join() === [...users].sort().join())).toBe(true);
      expect(await count('smembers')).toBe(1);
      await Promise.all([presence.lookup(users.slice(0, 20)), presence.lookup(users.slice(10, 30)), presence.lookup(users.slice(5, 25))]);
      expect(await count('hgetall')).toBe(30);
      await presence.lookup(users);
      expect(await count('hgetall')).toBe(30);
    } finally {
      await store.close();
    }
  });
});

describe('refresh ahead against Redis', () => {
  // Presence renewal is covered with a scripted reader in test/unit/logic/presence-cache.test.ts:
  // the Redis presence reader stamps its reads with the real clock, which this test does not move.
  it('renews a member list in the last tenth of its TTL in the background: the next use hits, with what Redis holds, the same array when unchanged', async () => {
    const registry = new Registry();
    const store = new RedisStore(createCluster({ seeds, commandTimeoutMs: 5000 }), createRedisMetrics(registry));
    try {
      const clock = { ms: 1_000_000 };
      const metrics = createLogicMetrics(registry);
      const session = new SessionCache({ sessionTtlMs: 10_000, sessionCacheMaxEntries: 10_000, sessionCacheMaxBytes: 1 << 24, presenceChannels: 64 }, metrics, () => clock.ms);
      const members = new MemberCache(store, session, metrics, pino({ level: 'silent' }), { publishChanges: false, presenceChannels: 64 });
      const users = Array.from({ length: 10 }, (_, i) => uid(`u${i}`));
      const late = uid('late');
      const g = uid('g');
      await store.call('sadd', keys.groupMembers(g), ...users);
      const smembers = async () => {
        const m = await registry.getSingleMetric('imgroup_redis_commands_total')?.get();
        return (m?.values ?? []).filter((v) => v.labels.command === 'smembers').reduce((s, v) => s + v.value, 0);
      };
      expect(await members.members(g)).toHaveLength(10);
      await store.call('sadd', keys.groupMembers(g), late);
      clock.ms += 8_500;
      expect(await members.members(g)).toHaveLength(10);
      expect(await smembers()).toBe(1);
      clock.ms += 1_000;
      // Still answered from the cache; the renewal runs behind it.
      expect(await members.members(g)).toHaveLength(10);
      await eventually('member list renewed', () => session.peek('members', g)?.members.length === 11);
      expect(await smembers()).toBe(2);
      clock.ms += 1_000;
      const renewed = await members.members(g);
      expect([...renewed].sort()).toEqual([...users, late].sort());
      expect(await smembers()).toBe(2);
      // A renewal that reads the same members keeps the array handed out (the fan-out's routing
      // memo is keyed on it), with the new read time.
      const storedAt = () => {
        const found = session.get('members', g, clock.ms);
        return found.state === 'hit' ? found.storedAtMs : -1;
      };
      clock.ms += 8_500;
      const renewedAt = clock.ms;
      expect(await members.members(g)).toBe(renewed);
      await eventually('member list renewed unchanged', () => storedAt() === renewedAt);
      clock.ms += 2_000;
      expect(await members.members(g)).toBe(renewed);
      expect(await smembers()).toBe(3);
      const { values } = await metrics.sessionCacheRequests.get();
      expect(values.filter((v) => v.labels.result !== 'hit').reduce((n, v) => n + v.value, 0)).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describe('coalesced cursor writes', () => {
  it('writes many acks as one script call per group per flush, only forward, only members, never past the head', async () => {
    const logic = await logicNode({ IMGROUP_CURSOR_FLUSH_MS: '60000' });
    const gate = await logic.driver();
    const groups = [uid('g'), uid('g')];
    const members = Array.from({ length: 20 }, (_, i) => uid(`m${i}`));
    for (const g of groups) {
      await gate.call({ op: 'members.update', groupId: g, add: members, remove: [] });
      for (let seq = 1; seq <= 5; seq++) await gate.call({ op: 'send', userId: members[0] as string, groupId: g, clientId: `m${seq}`, body: `${seq}` });
    }
    const eve = uid('eve');
    const acked = await logic.metric('imgroup_logic_acks_total', { result: 'applied' });
    let sent = 0;
    for (const g of groups) {
      for (const u of members) {
        for (let seq = 1; seq <= 5; seq++, sent++) gate.notify({ t: 'ack', userId: u, groupId: g, seq });
      }
    }
    gate.notify({ t: 'ack', userId: members[1], groupId: groups[0], seq: 9 }); // past the head
    gate.notify({ t: 'ack', userId: members[2], groupId: groups[0], seq: 2 }); // backwards
    gate.notify({ t: 'ack', userId: eve, groupId: groups[0], seq: 3 }); // not a member
    sent += 3;
    await eventually('acks taken', async () => (await logic.metric('imgroup_logic_acks_total', { result: 'applied' })) === acked + sent);
    const calls = await logic.metric('imgroup_redis_commands_total', { command: 'script:cursor_write' });
    await logic.node.flushCursors();
    expect((await logic.metric('imgroup_redis_commands_total', { command: 'script:cursor_write' })) - calls).toBe(2);
    for (const g of groups) {
      const cursors = await logic.store.call<Record<string, string>>('hgetall', keys.groupCursors(g));
      expect(Object.keys(cursors).sort()).toEqual([...members].sort());
      expect(new Set(Object.values(cursors))).toEqual(new Set(['5']));
    }
    // An older ack after the flush does not move a cursor back; a removed member's cursor goes,
    // and so does what it acked but was not written yet.
    gate.notify({ t: 'ack', userId: members[3]!, groupId: groups[0]!, seq: 1 });
    gate.notify({ t: 'ack', userId: members[4]!, groupId: groups[1]!, seq: 5 });
    await eventually('acks taken', async () => (await logic.metric('imgroup_logic_acks_total', { result: 'applied' })) === acked + sent + 2);
    await gate.call({ op: 'members.update', groupId: groups[0]!, add: [], remove: [members[5] as string] });
    expect(await logic.store.call('hexists', keys.groupCursors(groups[0] as string), members[5]!)).toBe(0);
    await gate.call({ op: 'members.update', groupId: groups[1]!, add: [], remove: [members[4] as string] });
    await logic.node.flushCursors();
    expect(await logic.store.call('hget', keys.groupCursors(groups[0] as string), members[3]!)).toBe('5');
    expect(await logic.store.call('hexists', keys.groupCursors(groups[1] as string), members[4]!)).toBe(0);
  });
});
