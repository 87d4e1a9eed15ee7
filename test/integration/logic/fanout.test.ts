/**
 * Online fan-out and the sweep through a real logic node: two test drivers play two gates, with
 * their users' presence written to Redis as gates write it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RedisPresenceWriter } from '../../../runtime/presence/presence-redis.js';
import { DEFAULT_PRESENCE_CHANNELS } from '../../../runtime/presence/presence-channels.js';
import { type DeliverFrame, InternalCloseCode } from '../../../runtime/protocol/internal-frames.js';
import type { GateDriver } from './gate-driver.js';
import { startTestLogic, type TestLogic, uid } from './logic-fixture.js';
import { eventually } from '../../support/eventually.js';

let logic: TestLogic;
let gateA: GateDriver;
let gateB: GateDriver;
let presenceA: RedisPresenceWriter;
let presenceB: RedisPresenceWriter;

beforeAll(async () => {
  logic = await startTestLogic(inject('redisSeeds'));
  gateA = await logic.driver();
  gateB = await logic.driver();
  presenceA = gateA.presence(logic.store);
  presenceB = gateB.presence(logic.store);
  await presenceA.register();
  await presenceB.register();
});
afterAll(async () => {
  await logic?.close();
});

const seqsOf = (frames: DeliverFrame[]) => frames.flatMap((f) => f.msgs.map((m) => m.seq));

async function group(members: string[]): Promise<string> {
  const g = uid('g');
  await gateA.call({ op: 'members.update', groupId: g, add: members, remove: [] });
  return g;
}

describe('online fan-out', () => {
  it('sends one deliver frame per gate naming exactly the online members on it, the sender included', async () => {
    const [alice, bob, carol, dan, eve] = [uid('alice'), uid('bob'), uid('carol'), uid('dan'), uid('eve')];
    const g = await group([alice, bob, carol, dan]);
    await presenceA.connect(alice, 'a1');
    await presenceB.connect(bob, 'b1');
    await presenceA.connect(carol, 'c1');
    await presenceB.connect(carol, 'c2');
    await presenceA.connect(eve, 'e1'); // online, not a member
    const sent = await gateA.call({ op: 'send', userId: alice, groupId: g, clientId: 'm1', body: 'hi all' });
    // A second message: fan-out of a group is in seq order, so once seq 2 arrived, seq 1's frames are all in.
    await gateA.call({ op: 'send', userId: alice, groupId: g, clientId: 'm2', body: 'again' });
    for (const gate of [gateA, gateB]) await gate.until(() => seqsOf(gate.delivers(g)).includes(2));
    const first = (gate: GateDriver) => gate.delivers(g).filter((f) => f.msgs.some((m) => m.seq === 1));
    expect(first(gateA)).toHaveLength(1);
    expect(first(gateB)).toHaveLength(1);
    expect(first(gateA)[0]).toMatchObject({ t: 'deliver', groupId: g, path: 'online', msgs: [{ groupId: g, seq: 1, from: alice, body: 'hi all', ts: sent.ts }] });
    expect(first(gateA)[0]?.users?.slice().sort()).toEqual([alice, carol].sort());
    expect(first(gateB)[0]?.users?.slice().sort()).toEqual([bob, carol].sort());
    expect(first(gateA)[0]?.conns).toBeUndefined();
  });

  it('delivers a burst in seq order, each message once per gate, piled-up messages together', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const g = await group([alice, bob]);
    await presenceB.connect(bob, 'b1');
    const n = 40;
    await Promise.all(Array.from({ length: n }, (_, i) => gateA.call({ op: 'send', userId: alice, groupId: g, clientId: `m${i}`, body: `${i}` })));
    await gateB.until(() => seqsOf(gateB.delivers(g)).length >= n);
    expect(seqsOf(gateB.delivers(g))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(gateB.delivers(g).every((f) => f.users?.length === 1 && f.users[0] === bob)).toBe(true);
    expect(gateA.delivers(g)).toEqual([]); // alice has no device online
  });

  it('skips devices whose gate is linked with another boot id', async () => {
    const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
    const g = await group([alice, bob, carol]);
    // gate C is alive in presence as boot X, but its link to this node belongs to boot Y.
    const gateName = `gate-${randomBytes(3).toString('hex')}`;
    const presenceC = new RedisPresenceWriter(logic.store, { gate: gateName, boot: 'bootX', ttlMs: 60_000, publishChanges: true, channels: DEFAULT_PRESENCE_CHANNELS });
    await presenceC.register();
    await presenceC.connect(carol, 'c1');
    const gateC = await logic.driver({ gate: gateName, boot: 'bootY' });
    await presenceB.connect(bob, 'b1');
    const before = await logic.metric('imgroup_logic_fanout_skipped_total', { reason: 'no_link' });
    await gateA.call({ op: 'send', userId: alice, groupId: g, clientId: 'm1', body: 'x' });
    await gateA.call({ op: 'send', userId: alice, groupId: g, clientId: 'm2', body: 'y' });
    await gateB.until(() => seqsOf(gateB.delivers(g)).includes(2));
    expect(gateC.delivers(g)).toEqual([]);
    expect(await logic.metric('imgroup_logic_fanout_skipped_total', { reason: 'no_link' })).toBeGreaterThanOrEqual(before + 2);
  });

  it('lets the newest link of a gate replace the older one', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const g = await group([alice, bob]);
    const gateName = `gate-${randomBytes(3).toString('hex')}`;
    const old = await logic.driver({ gate: gateName, boot: 'boot1' });
    const fresh = await logic.driver({ gate: gateName, boot: 'boot2' });
    expect((await old.waitClose()).code).toBe(InternalCloseCode.LINK_REPLACED);
    const presence = new RedisPresenceWriter(logic.store, { gate: gateName, boot: 'boot2', ttlMs: 60_000, publishChanges: true, channels: DEFAULT_PRESENCE_CHANNELS });
    await presence.register();
    await presence.connect(bob, 'b1');
    await gateA.call({ op: 'send', userId: alice, groupId: g, clientId: 'm1', body: 'x' });
    await fresh.until(() => fresh.delivers(g).length === 1);
    expect(fresh.delivers(g)[0]?.users).toEqual([bob]);
  });
});

describe('route memo', () => {
  const routes = async (source: string) => logic.metric('imgroup_logic_fanout_routes_total', { source });

  it("reuses a group's routing while nothing changed: the next message costs no presence lookup", async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const g = await group([alice, bob]);
    await presenceB.connect(bob, 'b1');
    // Presence notices land at any time (one change counter for all users) and make the next
    // message route afresh: send until one is routed by the memo, then check what it cost.
    let seq = 0;
    await eventually('a message routed by the memo', async () => {
      const memo = await routes('memo');
      const presenceReads = await logic.metric('imgroup_logic_session_cache_requests_total', { kind: 'presence' });
      seq++;
      await gateA.call({ op: 'send', userId: alice, groupId: g, clientId: `m${seq}`, body: `${seq}` });
      await gateB.until(() => seqsOf(gateB.delivers(g)).includes(seq));
      if ((await routes('memo')) === memo) return false;
      expect(await logic.metric('imgroup_logic_session_cache_requests_total', { kind: 'presence' })).toBe(presenceReads);
      return true;
    });
    expect(gateB.delivers(g).map((f) => f.users)).toEqual(Array.from({ length: seq }, () => [bob]));
  });

  it('routes again when a gate links between two messages: its users get the second one', async () => {
    const [alice, carol] = [uid('alice'), uid('carol')];
    const g = await group([alice, carol]);
    const gateName = `gate-${randomBytes(3).toString('hex')}`;
    const presenceC = new RedisPresenceWriter(logic.store, { gate: gateName, boot: 'boot1', ttlMs: 60_000, publishChanges: true, channels: DEFAULT_PRESENCE_CHANNELS });
    await presenceC.register();
    await presenceC.connect(carol, 'c1');
    await presenceA.connect(alice, 'a1');
    // carol's gate is not linked yet: nothing reaches her. Send until a message is routed by the
    // memo (the connect notices above may land after the first lookup and make it route again).
    let seq = 0;
    await eventually('a message routed by the memo', async () => {
      const memo = await routes('memo');
      seq++;
      await gateA.call({ op: 'send', userId: alice, groupId: g, clientId: `m${seq}`, body: `${seq}` });
      await gateA.until(() => seqsOf(gateA.delivers(g)).includes(seq));
      return (await routes('memo')) > memo;
    });
    const gateC = await logic.driver({ gate: gateName, boot: 'boot1' });
    seq++;
    await gateA.call({ op: 'send', userId: alice, groupId: g, clientId: `m${seq}`, body: `${seq}` });
    await gateC.until(() => seqsOf(gateC.delivers(g)).includes(seq));
    expect(gateC.delivers(g).map((f) => f.users)).toEqual([[carol]]);
  });
});

describe('sweep', () => {
  it('pushes online members the backlog past their cursor that fan-out could not bring, until they ack', async () => {
    // The sweep runs only when the test asks (sweepNow): a periodic tick on a slow machine would
    // find bob's unlinked gate too and count in the same no_link metric.
    const sweeper = await startTestLogic(inject('redisSeeds'), { IMGROUP_SWEEP_GRACE_MS: '0', IMGROUP_SWEEP_INTERVAL_MS: '0' });
    try {
      const sender = await sweeper.driver();
      const [alice, bob] = [uid('alice'), uid('bob')];
      const g = uid('g');
      await sender.call({ op: 'members.update', groupId: g, add: [alice, bob], remove: [] });
      // bob is online on a gate that has no link to this node while the messages are sent.
      const gateName = `gate-${randomBytes(3).toString('hex')}`;
      const presence = new RedisPresenceWriter(sweeper.store, { gate: gateName, boot: 'b1', ttlMs: 60_000, publishChanges: true, channels: DEFAULT_PRESENCE_CHANNELS });
      await presence.register();
      await presence.connect(bob, 'bob-conn');
      // Fan-out of each found bob's device without a link (and left it to the sweep). The metric
      // counts once per fan-out batch, and messages stored while one is delivered share the next
      // batch: each is sent after the previous one's fan-out was counted, so the count is 3.
      for (let i = 1; i <= 3; i++) {
        await sender.call({ op: 'send', userId: alice, groupId: g, clientId: `m${i}`, body: `${i}` });
        await eventually(`imgroup_logic_fanout_skipped_total reaches ${i}`, async () => (await sweeper.metric('imgroup_logic_fanout_skipped_total', { reason: 'no_link' })) === i);
      }
      const late = await sweeper.driver({ gate: gateName, boot: 'b1' });
      expect(await sweeper.node.sweepNow()).toBe(3);
      await late.until(() => late.delivers(g).length > 0);
      const swept = late.delivers(g);
      expect(swept).toHaveLength(1);
      expect(swept[0]).toMatchObject({ path: 'sweep', users: [bob] });
      expect(seqsOf(swept)).toEqual([1, 2, 3]);
      // After an ack of 2 only seq 3 is pushed again; after an ack of 3 nothing, and the group leaves the set.
      late.notify({ t: 'ack', userId: bob, groupId: g, seq: 2 });
      await eventually('bob’s cursor at 2', async () => (await sweeper.store.call('hget', `im:{g:${g}}:cursors`, bob)) === '2');
      expect(await sweeper.node.sweepNow()).toBe(1);
      await late.until(() => late.delivers(g).length > 1);
      expect(seqsOf(late.delivers(g))).toEqual([1, 2, 3, 3]);
      late.notify({ t: 'ack', userId: bob, groupId: g, seq: 3 });
      await eventually('bob’s cursor at 3', async () => (await sweeper.store.call('hget', `im:{g:${g}}:cursors`, bob)) === '3');
      expect(await sweeper.node.sweepNow()).toBe(0);
      expect(seqsOf(late.delivers(g))).toEqual([1, 2, 3, 3]);
    } finally {
      await sweeper.close();
    }
  });

  it('runs by itself every interval', async () => {
    const sweeper = await startTestLogic(inject('redisSeeds'), { IMGROUP_SWEEP_INTERVAL_MS: '200', IMGROUP_SWEEP_GRACE_MS: '0' });
    try {
      const sender = await sweeper.driver();
      const [alice, bob] = [uid('alice'), uid('bob')];
      const g = uid('g');
      await sender.call({ op: 'members.update', groupId: g, add: [alice, bob], remove: [] });
      const gateName = `gate-${randomBytes(3).toString('hex')}`;
      const presence = new RedisPresenceWriter(sweeper.store, { gate: gateName, boot: 'b1', ttlMs: 60_000, publishChanges: true, channels: DEFAULT_PRESENCE_CHANNELS });
      await presence.register();
      await presence.connect(bob, 'bob-conn');
      await sender.call({ op: 'send', userId: alice, groupId: g, clientId: 'm1', body: 'x' });
      // Fan-out left it to the sweep (and the sweep's own ticks may count the unlinked gate again).
      await eventually('imgroup_logic_fanout_skipped_total at least 1', async () => (await sweeper.metric('imgroup_logic_fanout_skipped_total', { reason: 'no_link' })) >= 1);
      const late = await sweeper.driver({ gate: gateName, boot: 'b1' });
      const frame = await late.next((f) => f.t === 'deliver' && f.groupId === g);
      expect(frame).toMatchObject({ path: 'sweep', users: [bob], msgs: [{ seq: 1, body: 'x' }] });
    } finally {
      await sweeper.close();
    }
  });

  it('keeps a group whose members are behind while none of them looks online, and catches up one who comes online', async () => {
    const sweeper = await startTestLogic(inject('redisSeeds'), { IMGROUP_SWEEP_GRACE_MS: '0', IMGROUP_SWEEP_INTERVAL_MS: '0' });
    try {
      const gate = await sweeper.driver();
      const presence = gate.presence(sweeper.store);
      await presence.register();
      const [alice, bob] = [uid('alice'), uid('bob')];
      const g = uid('g');
      await gate.call({ op: 'members.update', groupId: g, add: [alice, bob], remove: [] });
      // bob looks offline while the messages are sent and on the first tick (his presence could be
      // missing for a while, e.g. his gate's registration expired during a Redis pause).
      for (let i = 1; i <= 2; i++) await gate.call({ op: 'send', userId: alice, groupId: g, clientId: `m${i}`, body: `${i}` });
      expect(await sweeper.node.sweepNow()).toBe(0);
      // He is seen online later without any new message in the group: the next tick brings him both.
      await presence.connect(bob, 'bob-conn');
      await eventually('a sweep tick pushes bob his backlog', async () => (await sweeper.node.sweepNow()) > 0);
      await gate.until(() => gate.delivers(g).some((f) => f.path === 'sweep'));
      const swept = gate.delivers(g).filter((f) => f.path === 'sweep').slice(0, 1);
      expect(swept[0]).toMatchObject({ users: [bob] });
      expect(seqsOf(swept)).toEqual([1, 2]);
    } finally {
      await sweeper.close();
    }
  });

  it('reads no log for members behind only by messages younger than the grace period, and pushes a straggler what is old', async () => {
    // Default grace (30 s), manual ticks, and a sweep clock the test moves: no waiting for time.
    let clock = Date.now();
    const sweeper = await startTestLogic(inject('redisSeeds'), { IMGROUP_SWEEP_GRACE_MS: '30000', IMGROUP_SWEEP_INTERVAL_MS: '0' }, { sweepClock: () => clock });
    try {
      const gate = await sweeper.driver();
      const presence = gate.presence(sweeper.store);
      await presence.register();
      const [alice, bob, carol] = [uid('alice'), uid('bob'), uid('carol')];
      const g = uid('g');
      await gate.call({ op: 'members.update', groupId: g, add: [alice, bob, carol], remove: [] });
      await presence.connect(bob, 'bob-conn');
      await presence.connect(carol, 'carol-conn');
      await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm1', body: '1' });
      // First visit: it notes head 1; message 1 is too young to push.
      expect(await sweeper.node.sweepNow()).toBe(0);
      // bob acknowledges 1, carol never acknowledges; message 2 follows.
      gate.notify({ t: 'ack', userId: bob, groupId: g, seq: 1 });
      await eventually('bob’s ack applied', async () => (await sweeper.metric('imgroup_logic_acks_total', { result: 'applied' })) >= 1);
      await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm2', body: '2' });
      // A minute later both messages are old, but only head 1 is known to be: carol (cursor 0) gets
      // 1 and 2, bob (cursor 1) is read and pushed nothing, though message 2 is past his cursor.
      clock += 60_000;
      expect(await sweeper.node.sweepNow()).toBe(2);
      await gate.until(() => gate.delivers(g).some((f) => f.path === 'sweep'));
      const first = gate.delivers(g).filter((f) => f.path === 'sweep');
      expect(first.map((f) => f.users)).toEqual([[carol]]);
      expect(seqsOf(first)).toEqual([1, 2]);
      // The next visit knows head 2 is old: bob gets message 2, one visit later (carol both again).
      clock += 60_000;
      expect(await sweeper.node.sweepNow()).toBe(3);
      await gate.until(() => gate.delivers(g).filter((f) => f.path === 'sweep').length >= 3);
      const second = gate.delivers(g).filter((f) => f.path === 'sweep').slice(first.length);
      expect(second.filter((f) => f.users?.includes(bob)).flatMap((f) => f.msgs.map((m) => m.seq))).toEqual([2]);
    } finally {
      await sweeper.close();
    }
  });

  it('visits a group whose members behind all look offline less and less often, and still catches up one seen online much later', async () => {
    // TTL 0 (presence read from Redis on every visit), manual ticks: the first delay is 1 s.
    const sweeper = await startTestLogic(inject('redisSeeds'), { IMGROUP_SWEEP_GRACE_MS: '0', IMGROUP_SWEEP_INTERVAL_MS: '0', IMGROUP_SESSION_TTL_MS: '0' });
    try {
      const gate = await sweeper.driver();
      const presence = gate.presence(sweeper.store);
      await presence.register();
      const [alice, bob] = [uid('alice'), uid('bob')];
      const g = uid('g');
      await gate.call({ op: 'members.update', groupId: g, add: [alice, bob], remove: [] });
      await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm1', body: 'x' });
      expect(await sweeper.node.sweepNow()).toBe(0);
      expect(sweeper.node.sweepIdleDelayMs(g)).toBe(1000);
      // Each visit that finds nobody online doubles the delay before the next one.
      await eventually('the second visit doubles the delay', async () => (await sweeper.node.sweepNow()) === 0 && sweeper.node.sweepIdleDelayMs(g) === 2000);
      await eventually('the third visit doubles it again', async () => (await sweeper.node.sweepNow()) === 0 && sweeper.node.sweepIdleDelayMs(g) === 4000);
      expect(sweeper.node.sweepVisits(g)).toBe(true);
      // bob is seen online seconds later (an out-of-date view: a lapsed gate, a lost entry): a later visit catches him up.
      await presence.connect(bob, 'bob-conn');
      await eventually('a sweep tick pushes bob his backlog', async () => (await sweeper.node.sweepNow()) > 0);
      await gate.until(() => gate.delivers(g).some((f) => f.path === 'sweep'));
      expect(gate.delivers(g).find((f) => f.path === 'sweep')).toMatchObject({ users: [bob] });
      expect(sweeper.node.sweepIdleDelayMs(g)).toBeNull();
      // A new message makes the group an ordinary one again.
      await presence.disconnect(bob, 'bob-conn');
      await eventually('nobody online again', async () => (await sweeper.node.sweepNow()) === 0 && sweeper.node.sweepIdleDelayMs(g) !== null);
      await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm2', body: 'y' });
      expect(sweeper.node.sweepIdleDelayMs(g)).toBeNull();
    } finally {
      await sweeper.close();
    }
  });

  it('leaves messages younger than the grace period alone', async () => {
    const sweeper = await startTestLogic(inject('redisSeeds'), { IMGROUP_SWEEP_GRACE_MS: '600000' });
    try {
      const gate = await sweeper.driver();
      const presence = gate.presence(sweeper.store);
      await presence.register();
      const [alice, bob] = [uid('alice'), uid('bob')];
      const g = uid('g');
      await gate.call({ op: 'members.update', groupId: g, add: [alice, bob], remove: [] });
      await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm1', body: 'fresh' });
      await presence.connect(bob, 'bob-conn');
      expect(await sweeper.node.sweepNow()).toBe(0);
      expect(gate.delivers(g).filter((f) => f.path === 'sweep')).toEqual([]);
    } finally {
      await sweeper.close();
    }
  });
});

