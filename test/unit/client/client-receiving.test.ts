/**
 * ImgroupClient against a scripted protocol peer (a real ws server on 127.0.0.1, port 0):
 * connecting and receiving.
 */
import { describe, expect, it } from 'vitest';
import type { ClientError, ProtocolError } from '../../../runtime/client/index.js';
import { eventually } from '../../support/eventually.js';
import { seqs, SOON, useClientFixture } from './client-fixture.js';
import type { Frame } from './scripted-peer.js';

const fixture = useClientFixture();
const makeClient = fixture.makeClient;
const open = fixture.open;

describe('connecting', () => {
  it('resolves connect() with the welcome, passes the token in the query and reports states', async () => {
    const o = makeClient({ token: 'a b&c' });
    expect(o.client.state).toBe('idle');
    const connected = o.client.connect();
    const conn = await fixture.peer.connection(0);
    expect(conn.token).toBe('a b&c');
    expect(o.client.state).toBe('connecting');
    conn.send({ type: 'welcome', userId: 'alice', connId: 'c-1', gate: 'gate-7', heartbeatMs: 30_000 });
    const welcome = await connected;
    expect(welcome).toEqual({ type: 'welcome', userId: 'alice', connId: 'c-1', gate: 'gate-7', heartbeatMs: 30_000 });
    expect(o.client.welcome).toEqual(welcome);
    expect(o.states).toEqual(['connecting', 'open']);
  });

  it('sends the token as a bearer header when asked to', async () => {
    const o = makeClient({ token: 'hdr-token', tokenTransport: 'header' });
    const conn = await open(o);
    expect(conn.request.headers.authorization).toBe('Bearer hdr-token');
    expect(conn.token).toBeNull();
  });

  it('calls the token function again on every reconnect', async () => {
    let calls = 0;
    const o = makeClient({ token: async () => `t${++calls}` });
    const first = await open(o);
    expect(first.token).toBe('t1');
    first.close(1001, 'going away');
    const second = await fixture.peer.connection(1);
    expect(second.token).toBe('t2');
  });

  it('pings while open and stays open while the gate answers', async () => {
    const o = makeClient();
    const conn = await open(o, 0, 200);
    await conn.nextFrame('ping');
    conn.send({ type: 'pong' });
    await conn.nextFrame('ping');
    expect(o.client.state).toBe('open');
  });

  it('drops a connection whose gate stays silent after a ping, and reconnects', async () => {
    const o = makeClient();
    await open(o, 0, 20);
    const second = await fixture.peer.connection(1);
    expect(o.closes[0]).toMatchObject({ code: 4000, willReconnect: true });
    second.welcome();
    await eventually('o.client.state === open', () => o.client.state === 'open', SOON);
  });

  it('reports a failing token function and retries with a fresh token', async () => {
    let calls = 0;
    const o = makeClient({
      token: () => {
        if (++calls === 1) throw new Error('token service down');
        return 'fresh';
      },
    });
    const connected = o.client.connect();
    const conn = await fixture.peer.connection(0);
    expect(conn.token).toBe('fresh');
    expect(o.errors.map((e) => (e as ClientError).code)).toEqual(['TOKEN_FAILED']);
    expect(o.closes).toEqual([{ code: 1006, reason: 'no token', willReconnect: true }]);
    conn.welcome();
    await connected;
  });

  it('reports an unreadable frame on the error event and keeps the connection', async () => {
    const o = makeClient();
    const conn = await open(o);
    conn.ws.send('{not json');
    conn.send({ type: 'msg', groupId: 'g', seq: -1, from: 'x', body: 'y', ts: 1 });
    conn.msg('g', 1);
    await eventually('o.messages.length === 1', () => o.messages.length === 1, SOON);
    expect(o.errors.map((e) => (e as ClientError).code)).toEqual(['BAD_SERVER_FRAME', 'BAD_SERVER_FRAME']);
    expect(o.client.state).toBe('open');
  });
});

describe('receiving', () => {
  it('delivers each seq once, dropping repeated seqs', async () => {
    const o = makeClient();
    const conn = await open(o);
    for (const s of [1, 2, 2, 1, 3, 3, 2]) conn.msg('g', s);
    conn.msg('other', 7);
    await eventually('o.messages.length === 4', () => o.messages.length === 4, SOON);
    conn.msg('g', 4);
    await eventually('o.messages.length === 5', () => o.messages.length === 5, SOON);
    expect(o.messages.map((m) => `${m.groupId}:${m.seq}`)).toEqual(['g:1', 'g:2', 'g:3', 'other:7', 'g:4']);
    expect(o.client.lastSeq('g')).toBe(4);
  });

  it('drops messages at or below a seeded last seq', async () => {
    const o = makeClient();
    o.client.setLastSeq('g', 10);
    const conn = await open(o);
    for (const s of [9, 10, 11]) conn.msg('g', s);
    await eventually('o.messages.length === 1', () => o.messages.length === 1, SOON);
    expect(seqs(o)).toEqual([11]);
  });

  it('fills a gap with sync (afterSeq = last contiguous, limit = missing count) and delivers in order', async () => {
    const o = makeClient();
    const conn = await open(o);
    conn.msg('g', 1);
    conn.msg('g', 5); // 2..4 missing: the sync asks for 3 after seq 1
    conn.msg('g', 4); // held with 5 until 2 and 3 arrive
    const sync = await conn.nextFrame('sync');
    expect(sync).toMatchObject({ groupId: 'g', afterSeq: 1, limit: 3 });
    expect(seqs(o)).toEqual([1]);
    conn.send({
      type: 'sync.result',
      id: sync.id,
      groupId: 'g',
      messages: [2, 3].map((seq) => ({ type: 'msg', groupId: 'g', seq, from: 'bob', body: `m${seq}`, ts: seq })),
      more: true,
    });
    await eventually('o.messages.length === 5', () => o.messages.length === 5, SOON);
    expect(seqs(o)).toEqual([1, 2, 3, 4, 5]);
    expect(conn.framesOf('sync')).toHaveLength(1);
  });

  it('pages a gap larger than the sync page limit', async () => {
    const o = makeClient({ syncPageLimit: 2 });
    o.client.setLastSeq('g', 0);
    const conn = await open(o);
    conn.msg('g', 6);
    const answer = (request: Frame, from: number, to: number) =>
      conn.send({
        type: 'sync.result',
        id: request.id,
        groupId: 'g',
        messages: Array.from({ length: to - from + 1 }, (_, i) => ({ type: 'msg', groupId: 'g', seq: from + i, from: 'b', body: '', ts: 1 })),
        more: true,
      });
    const p1 = await conn.nextFrame('sync');
    expect(p1).toMatchObject({ afterSeq: 0, limit: 2 });
    answer(p1, 1, 2);
    const p2 = await conn.nextFrame('sync');
    expect(p2).toMatchObject({ afterSeq: 2, limit: 2 });
    answer(p2, 3, 4);
    const p3 = await conn.nextFrame('sync');
    expect(p3).toMatchObject({ afterSeq: 4, limit: 1 });
    answer(p3, 5, 5);
    await eventually('o.messages.length === 6', () => o.messages.length === 6, SOON);
    expect(seqs(o)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('skips seqs the log no longer holds (first returned seq above afterSeq + 1)', async () => {
    const o = makeClient();
    o.client.setLastSeq('g', 0);
    const conn = await open(o);
    conn.msg('g', 5);
    const sync = await conn.nextFrame('sync');
    conn.send({
      type: 'sync.result',
      id: sync.id,
      groupId: 'g',
      messages: [{ type: 'msg', groupId: 'g', seq: 3, from: 'b', body: '', ts: 1 }, { type: 'msg', groupId: 'g', seq: 4, from: 'b', body: '', ts: 1 }],
      more: true,
    });
    await eventually('o.messages.length === 3', () => o.messages.length === 3, SOON);
    expect(seqs(o)).toEqual([3, 4, 5]);
  });

  it('delivers what it holds when the gap sync fails, and reports the failure', async () => {
    const o = makeClient();
    const conn = await open(o);
    conn.msg('g', 1);
    conn.msg('g', 4);
    conn.msg('g', 3);
    const sync = await conn.nextFrame('sync');
    conn.send({ type: 'error', id: sync.id, code: 'NOT_MEMBER', message: 'not a member' });
    await eventually('o.messages.length === 3', () => o.messages.length === 3, SOON);
    expect(seqs(o)).toEqual([1, 3, 4]);
    expect(o.errors).toHaveLength(1);
    expect((o.errors[0] as ProtocolError).code).toBe('NOT_MEMBER');
    conn.msg('g', 5);
    await eventually('o.messages.length === 4', () => o.messages.length === 4, SOON);
    expect(conn.framesOf('sync')).toHaveLength(1);
  });

  it('acks once per group with the highest contiguous seq (coalesced)', async () => {
    const o = makeClient({ ackDelayMs: 60_000 });
    const conn = await open(o);
    for (const s of [1, 2, 3]) conn.msg('g', s);
    conn.msg('h', 9);
    await eventually('o.messages.length === 4', () => o.messages.length === 4, SOON);
    expect(conn.framesOf('ack')).toEqual([]);
    o.client.close(); // writes waiting acks first
    await conn.closed;
    expect(conn.framesOf('ack')).toEqual([
      { type: 'ack', groupId: 'g', seq: 3 },
      { type: 'ack', groupId: 'h', seq: 9 },
    ]);
  });

  it('acks again when the gate replays messages the client already has', async () => {
    const o = makeClient({ ackDelayMs: 60_000 });
    o.client.setLastSeq('g', 5);
    const conn = await open(o);
    for (const s of [3, 4, 5]) conn.msg('g', s);
    conn.msg('h', 1);
    await eventually('o.messages.length === 1', () => o.messages.length === 1, SOON);
    o.client.close();
    await conn.closed;
    expect(o.messages.map((m) => m.groupId)).toEqual(['h']);
    expect(conn.framesOf('ack')).toEqual([
      { type: 'ack', groupId: 'g', seq: 5 },
      { type: 'ack', groupId: 'h', seq: 1 },
    ]);
  });

  it('never acks past a gap', async () => {
    const o = makeClient({ ackDelayMs: 1 });
    const conn = await open(o);
    conn.msg('g', 1);
    conn.msg('g', 2);
    conn.msg('g', 4);
    const ack = await conn.nextFrame('ack', (f) => f.seq === 2);
    expect(ack).toEqual({ type: 'ack', groupId: 'g', seq: 2 });
    const sync = await conn.nextFrame('sync');
    expect(conn.framesOf('ack').every((f) => (f.seq as number) <= 2)).toBe(true);
    conn.send({ type: 'sync.result', id: sync.id, groupId: 'g', messages: [{ type: 'msg', groupId: 'g', seq: 3, from: 'b', body: '', ts: 1 }], more: true });
    await conn.nextFrame('ack', (f) => f.seq === 4);
  });
});

