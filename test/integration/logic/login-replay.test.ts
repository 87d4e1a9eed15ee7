/**
 * Offline delivery through a real logic node: login replay past each cursor (limit, order,
 * chunking, membership re-check) and acks that only move the cursor forward.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PAGE_SCRIPT } from '../../../runtime/logic/log-page.js';
import { keys } from '../../../runtime/redis/keys.js';
import type { DeliverFrame } from '../../../runtime/protocol/internal-frames.js';
import type { GateDriver } from './gate-driver.js';
import { startTestLogic, type TestLogic, uid } from './logic-fixture.js';
import { eventually } from '../../support/eventually.js';

let logic: TestLogic;
let gate: GateDriver;

beforeAll(async () => {
  logic = await startTestLogic(inject('redisSeeds'), { IMGROUP_REPLAY_LIMIT: '7', IMGROUP_DELIVER_BATCH_MAX: '3' });
  gate = await logic.driver();
});
afterAll(async () => {
  await logic?.close();
});

async function group(members: string[], messages: number, from = members[0] as string): Promise<string> {
  const g = uid('g');
  await gate.call({ op: 'members.update', groupId: g, add: members, remove: [] });
  for (let i = 1; i <= messages; i++) await gate.call({ op: 'send', userId: from, groupId: g, clientId: `m${i}`, body: `${g} #${i}` });
  return g;
}

/** Frames for `connId`, received before the login's res (the node sends them first). */
async function login(userId: string, connId: string): Promise<{ result: any; frames: DeliverFrame[] }> {
  const before = gate.frames.length;
  const result = await gate.call({ op: 'login', userId, connId });
  const frames = gate.frames.slice(before).filter((f): f is DeliverFrame => f.t === 'deliver' && f.conns?.[0] === connId);
  return { result, frames };
}

describe('login replay', () => {
  it('pushes each group past the cursor, oldest first, at most the replay limit, in bounded frames, before the res', async () => {
    const [alice, dave] = [uid('alice'), uid('dave')];
    const g1 = await group([alice, dave], 10, alice);
    const g2 = await group([alice, dave], 2, alice);
    const g3 = await group([alice, dave], 0, alice);
    const { result, frames } = await login(dave, 'conn-1');
    expect(result).toEqual({ groups: 2, delivered: 9 });
    for (const f of frames) {
      expect(f).toMatchObject({ path: 'offline', conns: ['conn-1'] });
      expect(f.users).toBeUndefined();
      expect(f.msgs.length).toBeLessThanOrEqual(3);
    }
    const seqs = (g: string) => frames.filter((f) => f.groupId === g).flatMap((f) => f.msgs.map((m) => m.seq));
    expect(seqs(g1)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seqs(g2)).toEqual([1, 2]);
    expect(seqs(g3)).toEqual([]);
    expect(frames.find((f) => f.groupId === g1)?.msgs[0]).toMatchObject({ groupId: g1, seq: 1, from: alice, body: `${g1} #1` });
    // Beyond the limit the client syncs.
    const rest = await gate.call({ op: 'sync', userId: dave, groupId: g1, afterSeq: 7, limit: 10 });
    expect(rest.messages.map((m: any) => m.seq)).toEqual([8, 9, 10]);
  });

  it('replays only what lies past the acknowledged cursor', async () => {
    const [alice, dave] = [uid('alice'), uid('dave')];
    const g = await group([alice, dave], 5, alice);
    gate.notify({ t: 'ack', userId: dave, groupId: g, seq: 3 });
    await waitForCursor(dave, g, 3);
    const { result, frames } = await login(dave, 'conn-2');
    expect(result).toEqual({ groups: 1, delivered: 2 });
    expect(frames.flatMap((f) => f.msgs.map((m) => m.seq))).toEqual([4, 5]);
  });

  it('never replays a group the user is not a member of, even with a stray groups entry', async () => {
    const [alice, mallory] = [uid('alice'), uid('mallory')];
    const g = await group([alice], 3, alice);
    // What a crash between the two writes of a membership change could leave behind.
    await logic.store.call('sadd', keys.userGroups(mallory), g);
    const { result, frames } = await login(mallory, 'conn-3');
    expect(result).toEqual({ groups: 0, delivered: 0 });
    expect(frames).toEqual([]);
  });

  it('costs one round trip for the groups plus at most one per master for the cursors and logs', async () => {
    const [alice, dave] = [uid('alice'), uid('dave')];
    const groups = [];
    for (let i = 0; i < 6; i++) groups.push(await group([alice, dave], 2, alice));
    // Every master knows the script already (a master that does not answers NOSCRIPT once, which
    // costs one more round trip to it), and the node has subscribed its invalidation channels:
    // from then on its Redis counters are the login's alone.
    for (const master of logic.store.cluster.nodes('master')) await master.script('LOAD', PAGE_SCRIPT.source);
    const fresh = await startTestLogic(inject('redisSeeds'));
    try {
      await eventually('invalidation channels subscribed', () => {
        const c = fresh.node.invalidationChannels();
        return c.subscribed === c.expected;
      });
      const before = await fresh.metric('imgroup_redis_roundtrips_total');
      const d = await fresh.driver();
      expect(await d.call({ op: 'login', userId: dave, connId: 'c' })).toEqual({ groups: 6, delivered: 12 });
      const masters = fresh.store.mastersCount();
      expect(masters).toBeGreaterThan(0);
      expect((await fresh.metric('imgroup_redis_roundtrips_total')) - before).toBeLessThanOrEqual(1 + masters);
      expect(await fresh.metric('imgroup_redis_commands_total', { command: 'smembers' })).toBe(1);
      expect(await fresh.metric('imgroup_redis_commands_total', { command: 'script:log_page' })).toBe(6);
    } finally {
      await fresh.close();
    }
  });

  it('answers a login of a user without groups with nothing to deliver', async () => {
    expect((await login(uid('nobody'), 'conn-4')).result).toEqual({ groups: 0, delivered: 0 });
  });
});

describe('ack', () => {
  it('moves the cursor forward only', async () => {
    const [alice, dave] = [uid('alice'), uid('dave')];
    const g = await group([alice, dave], 6, alice);
    gate.notify({ t: 'ack', userId: dave, groupId: g, seq: 4 });
    await waitForCursor(dave, g, 4);
    const appliedBefore = await logic.metric('imgroup_logic_acks_total', { result: 'applied' });
    gate.notify({ t: 'ack', userId: dave, groupId: g, seq: 2 });
    await waitForMetric('imgroup_logic_acks_total', { result: 'applied' }, appliedBefore + 1);
    expect(await logic.store.call('hget', keys.groupCursors(g), dave)).toBe('4');
    gate.notify({ t: 'ack', userId: dave, groupId: g, seq: 6 });
    await waitForCursor(dave, g, 6);
  });

  it('ignores acks for groups the user is not a member of', async () => {
    const [alice, eve] = [uid('alice'), uid('eve')];
    const g = await group([alice], 1, alice);
    const before = await logic.metric('imgroup_logic_acks_total', { result: 'applied' });
    gate.notify({ t: 'ack', userId: eve, groupId: g, seq: 1 });
    await waitForMetric('imgroup_logic_acks_total', { result: 'applied' }, before + 1);
    expect(await logic.store.call('hexists', keys.groupCursors(g), eve)).toBe(0);
  });
});

async function waitForCursor(userId: string, groupId: string, seq: number): Promise<void> {
  await eventually(`cursor of ${userId} in ${groupId} at ${seq}`, async () => Number(await logic.store.call('hget', keys.groupCursors(groupId), userId)) === seq);
}

async function waitForMetric(name: string, labels: Record<string, string>, atLeast: number): Promise<void> {
  await eventually(`${name} ${JSON.stringify(labels)} at least ${atLeast}`, async () => (await logic.metric(name, labels)) >= atLeast);
}

