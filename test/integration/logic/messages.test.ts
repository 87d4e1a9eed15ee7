/**
 * The group requests of a real logic node (in-process, real Redis Cluster), driven over the
 * internal protocol by a test driver that plays a gate: send, post, sync, members.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keys } from '../../../runtime/redis/keys.js';
import type { GateDriver } from './gate-driver.js';
import { startTestLogic, type TestLogic, uid } from './logic-fixture.js';

let logic: TestLogic;
let gate: GateDriver;

beforeAll(async () => {
  logic = await startTestLogic(inject('redisSeeds'), { IMGROUP_MAX_MEMBERS_PER_GROUP: '3', IMGROUP_LOGIC_MAX_SYNC_LIMIT: '5' });
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

describe('send', () => {
  it('assigns seqs 1, 2, 3 … without gaps, also to concurrent sends', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const g = await group(alice, bob);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => gate.call({ op: 'send', userId: i % 2 ? alice : bob, groupId: g, clientId: `c${i}`, body: `m${i}` })),
    );
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(results.every((r) => Number.isSafeInteger(r.ts) && r.ts > 0)).toBe(true);
    expect(await logic.store.call('xlen', keys.groupLog(g))).toBe(30);
    expect(await logic.store.call('get', keys.groupSeq(g))).toBe('30');
  });

  it('costs one script call per send, retries included', async () => {
    const alice = uid('alice');
    const g = await group(alice);
    const before = await logic.metric('imgroup_redis_commands_total', { command: 'script:log_append' });
    for (let i = 0; i < 5; i++) await gate.call({ op: 'send', userId: alice, groupId: g, clientId: `c${i % 3}`, body: 'x' });
    expect(await logic.metric('imgroup_redis_commands_total', { command: 'script:log_append' })).toBe(before + 5);
    expect(await logic.store.call('xlen', keys.groupLog(g))).toBe(3);
  });

  it('stores the message once per group with the stream id <seq>-1 and fields f, b, t', async () => {
    const alice = uid('alice');
    const g = await group(alice);
    const { seq, ts } = await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'x', body: 'hello' });
    const entries = await logic.store.call<[string, string[]][]>('xrange', keys.groupLog(g), '-', '+');
    expect(entries).toEqual([[`${seq}-1`, ['f', alice, 'b', 'hello', 't', String(ts)]]]);
  });

  it('answers a retry with the same client id with the same seq and ts and stores nothing new', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const g = await group(alice, bob);
    const first = await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'same', body: 'once' });
    const again = await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'same', body: 'once' });
    expect(again).toEqual(first);
    // The same client id from another user is another message.
    const bobs = await gate.call({ op: 'send', userId: bob, groupId: g, clientId: 'same', body: 'mine' });
    expect(bobs.seq).toBe(first.seq + 1);
    expect(await logic.store.call('xlen', keys.groupLog(g))).toBe(2);
    expect(await logic.metric('imgroup_logic_messages_total', { result: 'duplicate' })).toBeGreaterThanOrEqual(1);
  });

  it('rejects a non-member with NOT_MEMBER and stores nothing', async () => {
    const [alice, eve] = [uid('alice'), uid('eve')];
    const g = await group(alice);
    const res = await gate.request({ op: 'send', userId: eve, groupId: g, clientId: 'c', body: 'let me in' });
    expect(res).toMatchObject({ ok: false, code: 'NOT_MEMBER' });
    expect(await logic.store.call('exists', keys.groupLog(g), keys.groupSeq(g))).toBe(0);
  });

  it.each([
    ['a user id outside the id alphabet', { op: 'send', userId: 'bad user', groupId: 'g', clientId: 'c', body: 'b' }],
    ['a group id with a hash-tag brace', { op: 'send', userId: 'u', groupId: 'g}x', clientId: 'c', body: 'b' }],
    ['an empty client id', { op: 'send', userId: 'u', groupId: 'g', clientId: '', body: 'b' }],
    ['a post from a bad sender', { op: 'post', from: 'sys tem', groupId: 'g', clientId: 'c', body: 'b' }],
    ['a sync with limit 0', { op: 'sync', userId: 'u', groupId: 'g', afterSeq: 0, limit: 0 }],
    ['members.update with a bad id', { op: 'members.update', groupId: 'g', add: ['ok', 'not ok'], remove: [] }],
    ['members.update naming a user twice', { op: 'members.update', groupId: 'g', add: ['u1'], remove: ['u1'] }],
    ['a login with a bad user id', { op: 'login', userId: '', connId: 'c1' }],
  ])('rejects %s with BAD_FRAME', async (_name, req) => {
    expect(await gate.request(req as never)).toMatchObject({ ok: false, code: 'BAD_FRAME' });
  });
});

describe('post', () => {
  it('stores an admin message without a membership check, from whoever is named, idempotently', async () => {
    const alice = uid('alice');
    const g = await group(alice);
    const a = await gate.call({ op: 'post', groupId: g, from: 'system', clientId: 'gen-1', body: 'welcome' });
    const b = await gate.call({ op: 'post', groupId: g, from: 'system', clientId: 'gen-1', body: 'welcome' });
    expect(a.seq).toBe(1);
    expect(b).toEqual(a);
    const page = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 0, limit: 10 });
    expect(page.messages).toEqual([{ groupId: g, seq: 1, from: 'system', body: 'welcome', ts: a.ts }]);
  });

  it('does not share idempotency records with a user of the same name', async () => {
    const g = await group('system');
    const byUser = await gate.call({ op: 'send', userId: 'system', groupId: g, clientId: 'k', body: 'user' });
    const byAdmin = await gate.call({ op: 'post', groupId: g, from: 'system', clientId: 'k', body: 'admin' });
    expect(byAdmin.seq).toBe(byUser.seq + 1);
  });
});

describe('sync', () => {
  it('pages with a more flag and cuts limits to the configured maximum', async () => {
    const alice = uid('alice');
    const g = await group(alice);
    for (let i = 1; i <= 8; i++) await gate.call({ op: 'send', userId: alice, groupId: g, clientId: `m${i}`, body: `b${i}` });
    const p1 = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 0, limit: 3 });
    expect(p1.messages.map((m: any) => m.seq)).toEqual([1, 2, 3]);
    expect(p1.more).toBe(true);
    const p2 = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 3, limit: 100 });
    expect(p2.messages.map((m: any) => m.seq)).toEqual([4, 5, 6, 7, 8]);
    expect(p2.more).toBe(false);
    const p3 = await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 2, limit: 100 });
    expect(p3.messages.map((m: any) => m.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(p3.more).toBe(true);
    expect(await gate.call({ op: 'sync', userId: alice, groupId: g, afterSeq: 8, limit: 5 })).toEqual({ messages: [], more: false });
  });

  it('answers NOT_MEMBER to a non-member', async () => {
    const [alice, eve] = [uid('alice'), uid('eve')];
    const g = await group(alice);
    await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm', body: 'secret' });
    expect(await gate.request({ op: 'sync', userId: eve, groupId: g, afterSeq: 0, limit: 5 })).toMatchObject({ ok: false, code: 'NOT_MEMBER' });
  });
});

describe('members', () => {
  it('adds, removes and lists members, keeping both sides of the membership', async () => {
    const [a, b, c] = [uid('a'), uid('b'), uid('c')];
    const g = uid('g');
    expect(await gate.call({ op: 'members.update', groupId: g, add: [a, b, b], remove: [] })).toEqual({ members: 2 });
    expect(await gate.call({ op: 'members.update', groupId: g, add: [c], remove: [b] })).toEqual({ members: 2 });
    expect(await gate.call({ op: 'members.get', groupId: g })).toEqual({ members: [a, c].sort() });
    expect(await logic.store.call('smembers', keys.userGroups(a))).toEqual([g]);
    expect(await logic.store.call('smembers', keys.userGroups(b))).toEqual([]);
    expect(await logic.store.call('hexists', keys.groupCursors(g), b)).toBe(0);
  });

  it('rejects additions beyond the member limit with GROUP_FULL and changes nothing', async () => {
    const [a, b, c, d, e] = [uid('a'), uid('b'), uid('c'), uid('d'), uid('e')];
    const g = await group(a, b);
    expect(await gate.request({ op: 'members.update', groupId: g, add: [c, d], remove: [] })).toMatchObject({ ok: false, code: 'GROUP_FULL' });
    expect((await gate.call({ op: 'members.get', groupId: g })).members).toEqual([a, b].sort());
    expect(await logic.store.call('smembers', keys.userGroups(c))).toEqual([]);
    // Re-adding existing members does not count, and removals in the same request make room.
    expect(await gate.call({ op: 'members.update', groupId: g, add: [a, b, c], remove: [] })).toEqual({ members: 3 });
    expect(await gate.call({ op: 'members.update', groupId: g, add: [d, e], remove: [a, b] })).toEqual({ members: 3 });
    expect(await gate.request({ op: 'members.update', groupId: g, add: [a], remove: [] })).toMatchObject({ ok: false, code: 'GROUP_FULL' });
  });

  it('starts a new member at the group head: history before joining is not replayed as unread', async () => {
    const [alice, bob] = [uid('alice'), uid('bob')];
    const g = await group(alice);
    await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm1', body: 'before bob' });
    await gate.call({ op: 'members.update', groupId: g, add: [bob], remove: [] });
    expect(await logic.store.call('hget', keys.groupCursors(g), bob)).toBe('1');
    // Re-adding an existing member leaves the cursor alone.
    await gate.call({ op: 'send', userId: alice, groupId: g, clientId: 'm2', body: 'after bob' });
    await gate.call({ op: 'members.update', groupId: g, add: [bob], remove: [] });
    expect(await logic.store.call('hget', keys.groupCursors(g), bob)).toBe('1');
  });
});
