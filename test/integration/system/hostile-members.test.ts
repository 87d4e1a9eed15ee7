/**
 * Hostile use of the group protocol end to end (real gate and logic processes, the shared Redis
 * Cluster). Acks a client should not be able to use against others: an ack of a non-member writes
 * no cursor and is answered with nothing, and an ack past the head of the group moves the member's
 * cursor to the head, not beyond — so messages sent later still reach the member on its next
 * login. And ids that are JavaScript property names (`__proto__`, `constructor`, …): valid ids,
 * which must work like any other wherever an id keys a map (presence, members, cursors, fan-out).
 * Non-member send and sync (NOT_MEMBER) are in messaging.test.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { clusterClient } from '../../support/redis-cluster.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MAX_SEQ } from '../../../runtime/protocol/client-frames.js';
import { keys } from '../../../runtime/redis/keys.js';
import { eventually } from '../../support/eventually.js';
import { parseExposition, sampleSum } from '../../support/exposition.js';
import { RawClient } from '../../support/raw-client.js';
import { TestSystem } from '../../support/system.js';

const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;
let sys: TestSystem;
let redis: Cluster;

beforeAll(async () => {
  sys = await new TestSystem({ redisSeeds: inject('redisSeeds'), logic: 1, gates: 1 }).start();
  redis = clusterClient(inject('redisSeeds'));
});
afterAll(async () => {
  await redis?.quit();
  await sys?.stop();
});

/** A ping round trip: the gate has read (and forwarded) everything sent before it. */
async function flushed(c: RawClient): Promise<void> {
  const pongs = c.frames.filter((f) => f.type === 'pong').length;
  c.send({ type: 'ping' });
  await c.next(() => c.frames.filter((f) => f.type === 'pong').length > pongs);
}

const acksSeen = async () => sampleSum(parseExposition(await sys.metrics(sys.logic[0]!)).get('imgroup_logic_acks_total'));

describe('hostile acks', () => {
  it('ignores a non-member’s ack and clamps a member’s ack past the head to the head; later messages still arrive', async () => {
    const [g, alice, bob, eve] = [uid('g'), uid('alice'), uid('bob'), uid('eve')];
    await sys.addMembers(g, [alice, bob]);
    const a = await sys.connect(alice);
    for (let i = 1; i <= 2; i++) expect(await a.request({ type: 'send', id: `m${i}`, groupId: g, body: `b${i}` })).toMatchObject({ type: 'sent', seq: i });
    const before = await acksSeen();

    // Eve, a member of nothing, acks the group; then Bob acks far past its head (2).
    const e = await sys.connect(eve);
    e.send({ type: 'ack', groupId: g, seq: 2 });
    await flushed(e);
    const b = await sys.connect(bob);
    await b.waitMessages(g, 2);
    b.send({ type: 'ack', groupId: g, seq: MAX_SEQ });
    await flushed(b);
    await eventually('logic took both acks', async () => (await acksSeen()) >= before + 2);
    await eventually('bob’s cursor written', async () => Number(await redis.hget(keys.groupCursors(g), bob)) > 0);

    expect(await redis.hget(keys.groupCursors(g), bob)).toBe('2');
    expect(await redis.hget(keys.groupCursors(g), eve)).toBeNull();
    expect((await sys.admin('GET', `/v1/groups/${g}/members`)).body.members.sort()).toEqual([alice, bob].sort());
    // Acks are answered with nothing, hostile or not.
    expect(e.frames.filter((f) => f.type === 'error')).toEqual([]);
    expect(b.frames.filter((f) => f.type === 'error')).toEqual([]);

    // Bob leaves; the next message waits for him and arrives at his next login, alone.
    b.close();
    await b.waitClose();
    expect(await a.request({ type: 'send', id: 'm3', groupId: g, body: 'after the ack' })).toMatchObject({ type: 'sent', seq: 3 });
    const again = await sys.connect(bob);
    const [first] = await again.waitMessages(g, 1);
    expect(first).toMatchObject({ seq: 3, body: 'after the ack' });
    await flushed(again);
    expect(again.messages(g).map((m) => m.seq)).toEqual([3]);
    // Eve never received anything of the group.
    expect(e.messages(g)).toEqual([]);
  });
});

describe('ids that are JavaScript property names', () => {
  it('work like any other id: members, fan-out, presence, acks and login replay', async () => {
    // Fixed ids by necessity; only this test uses them (the fuzzing's non-member sends to
    // `__proto__` change nothing), and every assertion is relative to what it finds.
    const [proto, ctor, toStr] = ['__proto__', 'constructor', 'toString'];
    const g = '__proto__';
    await sys.addMembers(g, [proto, ctor, toStr]);
    expect((await sys.admin('GET', `/v1/groups/${g}/members`)).body.members).toEqual(expect.arrayContaining([proto, ctor, toStr]));
    const [p, c] = [await sys.connect(proto), await sys.connect(ctor)];
    const presence = await sys.admin('GET', `/v1/users/${proto}/presence`);
    expect(presence.body).toMatchObject({ userId: proto, online: true, devices: [{ gate: sys.gates[0]!.name, connId: p.frames[0]!.connId }] });
    const sent = await p.request({ type: 'send', id: 'proto-1', groupId: g, body: 'from __proto__' });
    expect(sent).toMatchObject({ type: 'sent', groupId: g });
    for (const client of [p, c]) {
      await client.next((f) => f.type === 'msg' && f.seq === sent.seq);
      expect(client.messages(g).find((m) => m.seq === sent.seq)).toMatchObject({ from: proto, body: 'from __proto__' });
    }
    // Acks move the cursors of exactly these users.
    p.send({ type: 'ack', groupId: g, seq: sent.seq });
    c.send({ type: 'ack', groupId: g, seq: sent.seq });
    await Promise.all([flushed(p), flushed(c)]);
    await eventually('both cursors at the message', async () => {
      const cursors = await redis.hgetall(keys.groupCursors(g));
      return Number(cursors[proto]) === sent.seq && Number(cursors[ctor]) === sent.seq;
    });
    // toString was offline: it gets the message at login, from the cursor it has (not from a prototype).
    const t = await sys.connect(toStr);
    await t.next((f) => f.type === 'msg' && f.seq === sent.seq);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    for (const client of [p, c, t]) expect(client.frames.filter((f) => f.type === 'error')).toEqual([]);
  });
});
