/**
 * The group log's bounds through a real logic node: the count cap, lazy time retention in the
 * append script, the idle-log expiry, and a seq counter that fell behind its log.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keys } from '../../../runtime/redis/keys.js';
import type { DeliverFrame } from '../../../runtime/protocol/internal-frames.js';
import type { GateDriver } from './gate-driver.js';
import { startTestLogic, type TestLogic, uid } from './logic-fixture.js';

const RETENTION_MS = 3_600_000;
let logic: TestLogic;
let gate: GateDriver;

beforeAll(async () => {
  logic = await startTestLogic(inject('redisSeeds'), { IMGROUP_LOG_CAP: '5', IMGROUP_LOG_RETENTION_MS: String(RETENTION_MS) });
  gate = await logic.driver();
});
afterAll(async () => {
  await logic?.close();
});

async function group(...members: string[]): Promise<string> {
  const g = uid('g');
  await gate.call({ op: 'members.update', groupId: g, add: members, remove: [] });
  return g;
}

describe('log bounds', () => {
  it('keeps at most the cap; sync and login replay start at the oldest retained message', async () => {
    const [alice, dave] = [uid('alice'), uid('dave')];
    const g = await group(alice, dave);
    for (let i = 1; i <= 12; i++) await gate.call({ op: 'send', userId: alice, groupId: g, clientId: `m${i}`, body: `${i}` });
    expect(await logic.store.call('xlen', keys.groupLog(g))).toBe(5);
    const page = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 0, limit: 100 });
    expect(page.messages.map((m: any) => m.seq)).toEqual([8, 9, 10, 11, 12]);
    const before = gate.frames.length;
    expect(await gate.call({ op: 'login', userId: dave, connId: 'd1' })).toEqual({ groups: 1, delivered: 5 });
    const replayed = gate.frames.slice(before).filter((f): f is DeliverFrame => f.t === 'deliver');
    expect(replayed.flatMap((f) => f.msgs.map((m) => m.seq))).toEqual([8, 9, 10, 11, 12]);
  });

  it('trims messages older than the retention when the group gets a new one, and lets an idle log expire', async () => {
    const alice = uid('alice');
    const g = await group(alice);
    // Two messages stored "two hours ago" (older than the retention), one a minute ago.
    const now = Date.now();
    await logic.store.call('xadd', keys.groupLog(g), '1-1', 'f', alice, 'b', 'old 1', 't', String(now - 2 * RETENTION_MS));
    await logic.store.call('xadd', keys.groupLog(g), '2-1', 'f', alice, 'b', 'old 2', 't', String(now - 2 * RETENTION_MS));
    await logic.store.call('xadd', keys.groupLog(g), '3-1', 'f', alice, 'b', 'recent', 't', String(now - 60_000));
    await logic.store.call('set', keys.groupSeq(g), '3');
    const { seq } = await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'new', body: 'new' });
    expect(seq).toBe(4);
    const page = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 0, limit: 100 });
    expect(page.messages.map((m: any) => m.body)).toEqual(['recent', 'new']);
    const ttl = await logic.store.call<number>('pttl', keys.groupLog(g));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(RETENTION_MS);
    expect(await logic.store.call('pttl', keys.groupSeq(g))).toBe(-1);
  });

  it('continues after the log when the seq counter fell behind it', async () => {
    const alice = uid('alice');
    const g = await group(alice);
    for (let i = 1; i <= 3; i++) await gate.call({ op: 'send', userId: alice, groupId: g, clientId: `m${i}`, body: `${i}` });
    await logic.store.call('del', keys.groupSeq(g)); // as if the counter were lost
    const { seq } = await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm4', body: '4' });
    expect(seq).toBe(4);
    expect(await logic.store.call('get', keys.groupSeq(g))).toBe('4');
    const next = await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm5', body: '5' });
    expect(next.seq).toBe(5);
  });
});
