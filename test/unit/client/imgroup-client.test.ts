/**
 * ImgroupClient against a scripted protocol peer (a real ws server on 127.0.0.1, port 0).
 */
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ChatMessage,
  ClientError,
  type ClientOptions,
  type ClientState,
  type CloseInfo,
  ImgroupClient,
  ProtocolError,
} from '../../../runtime/client/index.js';
import { type Frame, type PeerConnection, ScriptedPeer } from './scripted-peer.js';

let peer: ScriptedPeer;
const clients: ImgroupClient[] = [];

beforeEach(async () => {
  peer = await ScriptedPeer.start();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await peer.stop();
});

interface Observed {
  client: ImgroupClient;
  messages: ChatMessage[];
  states: ClientState[];
  closes: CloseInfo[];
  errors: Error[];
}

function makeClient(options: Partial<ClientOptions> = {}): Observed {
  const client = new ImgroupClient({
    url: peer.url,
    token: 'tok-1',
    WebSocket,
    reconnectMinMs: 5,
    reconnectMaxMs: 20,
    ...options,
  });
  clients.push(client);
  const o: Observed = { client, messages: [], states: [], closes: [], errors: [] };
  client.on('message', (m) => o.messages.push(m));
  client.on('state', (s) => o.states.push(s));
  client.on('close', (c) => o.closes.push(c));
  client.on('error', (e) => o.errors.push(e));
  return o;
}

/** Connect `o.client` and welcome it on the peer's `index`-th connection. */
async function open(o: Observed, index = 0, heartbeatMs = 60_000): Promise<PeerConnection> {
  const connected = o.client.connect();
  const conn = await peer.connection(index);
  conn.welcome(heartbeatMs);
  await connected;
  return conn;
}

async function eventually(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 2));
}

const seqs = (o: Observed) => o.messages.map((m) => m.seq);

describe('connecting', () => {
  it('resolves connect() with the welcome, passes the token in the query and reports states', async () => {
    const o = makeClient({ token: 'a b&c' });
    expect(o.client.state).toBe('idle');
    const connected = o.client.connect();
    const conn = await peer.connection(0);
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
    const second = await peer.connection(1);
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
    const second = await peer.connection(1);
    expect(o.closes[0]).toMatchObject({ code: 4000, willReconnect: true });
    second.welcome();
    await eventually(() => o.client.state === 'open');
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
    const conn = await peer.connection(0);
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
    await eventually(() => o.messages.length === 1);
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
    await eventually(() => o.messages.length === 4);
    conn.msg('g', 4);
    await eventually(() => o.messages.length === 5);
    expect(o.messages.map((m) => `${m.groupId}:${m.seq}`)).toEqual(['g:1', 'g:2', 'g:3', 'other:7', 'g:4']);
    expect(o.client.lastSeq('g')).toBe(4);
  });

  it('drops messages at or below a seeded last seq', async () => {
    const o = makeClient();
    o.client.setLastSeq('g', 10);
    const conn = await open(o);
    for (const s of [9, 10, 11]) conn.msg('g', s);
    await eventually(() => o.messages.length === 1);
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
    await eventually(() => o.messages.length === 5);
    expect(seqs(o)).toEqual([1, 2, 3, 4, 5]);
    expect(conn.framesOf('sync')).toHaveLength(1);
  });

  it('pages a gap larger than the sync page limit', async () => {
    const o = makeClient({ syncPageLimit: 2 });
    o.client.setLastSeq('g', 0);
    const conn = await open(o);
    conn.msg('g', 6);
    const answer = (f: Frame, from: number, to: number) =>
      conn.send({
        type: 'sync.result',
        id: f.id,
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
    await eventually(() => o.messages.length === 6);
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
    await eventually(() => o.messages.length === 3);
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
    await eventually(() => o.messages.length === 3);
    expect(seqs(o)).toEqual([1, 3, 4]);
    expect(o.errors).toHaveLength(1);
    expect((o.errors[0] as ProtocolError).code).toBe('NOT_MEMBER');
    conn.msg('g', 5);
    await eventually(() => o.messages.length === 4);
    expect(conn.framesOf('sync')).toHaveLength(1);
  });

  it('acks once per group with the highest contiguous seq (coalesced)', async () => {
    const o = makeClient({ ackDelayMs: 60_000 });
    const conn = await open(o);
    for (const s of [1, 2, 3]) conn.msg('g', s);
    conn.msg('h', 9);
    await eventually(() => o.messages.length === 4);
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
    await eventually(() => o.messages.length === 1);
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

describe('sending', () => {
  it('resolves send() with seq and ts on sent', async () => {
    const o = makeClient();
    const conn = await open(o);
    const sending = o.client.send('g', 'hello');
    const frame = await conn.nextFrame('send');
    expect(frame).toMatchObject({ groupId: 'g', body: 'hello' });
    expect(typeof frame.id).toBe('string');
    conn.send({ type: 'sent', id: frame.id, groupId: 'g', seq: 42, ts: 1234 });
    await expect(sending).resolves.toEqual({ id: frame.id, seq: 42, ts: 1234 });
    expect(o.client.pendingSends).toBe(0);
  });

  it('uses a fresh id per send unless the app passes one', async () => {
    const o = makeClient();
    const conn = await open(o);
    void o.client.send('g', 'a').catch(() => {});
    void o.client.send('g', 'b').catch(() => {});
    void o.client.send('g', 'c', { id: 'app-id-1' }).catch(() => {});
    await eventually(() => conn.framesOf('send').length === 3);
    const ids = conn.framesOf('send').map((f) => f.id);
    expect(new Set(ids).size).toBe(3);
    expect(ids[2]).toBe('app-id-1');
  });

  it('queues sends made before connect and writes them after the welcome', async () => {
    const o = makeClient();
    const sending = o.client.send('g', 'early');
    const conn = await open(o);
    const frame = await conn.nextFrame('send');
    conn.send({ type: 'sent', id: frame.id, groupId: 'g', seq: 1, ts: 1 });
    await expect(sending).resolves.toMatchObject({ seq: 1 });
  });

  it.each(['NOT_MEMBER', 'BAD_FRAME', 'FRAME_TOO_LARGE', 'GROUP_FULL', 'INTERNAL'])('rejects with %s without retrying', async (code) => {
    const o = makeClient();
    const conn = await open(o);
    const sending = o.client.send('g', 'x');
    const frame = await conn.nextFrame('send');
    conn.send({ type: 'error', id: frame.id, code, message: 'no' });
    const err = await sending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe(code);
    expect(conn.framesOf('send')).toHaveLength(1);
    expect(o.errors).toEqual([]);
  });

  it.each(['UNAVAILABLE', 'RATE_LIMITED'])('retries %s with the same id until sent', async (code) => {
    const o = makeClient();
    const conn = await open(o);
    const sending = o.client.send('g', 'x');
    const first = await conn.nextFrame('send');
    conn.send({ type: 'error', id: first.id, code, message: 'later' });
    const second = await conn.nextFrame('send');
    expect(second).toEqual(first);
    conn.send({ type: 'error', id: first.id, code, message: 'later' });
    const third = await conn.nextFrame('send');
    conn.send({ type: 'sent', id: third.id, groupId: 'g', seq: 7, ts: 1 });
    await expect(sending).resolves.toMatchObject({ id: first.id, seq: 7 });
    expect(conn.framesOf('send')).toHaveLength(3);
  });

  it('re-sends an unconfirmed send with the same id after a timeout', async () => {
    const o = makeClient({ sendTimeoutMs: 20 });
    const conn = await open(o);
    const sending = o.client.send('g', 'x');
    const first = await conn.nextFrame('send');
    const again = await conn.nextFrame('send');
    expect(again.id).toBe(first.id);
    conn.send({ type: 'sent', id: first.id, groupId: 'g', seq: 3, ts: 1 });
    await expect(sending).resolves.toMatchObject({ seq: 3 });
  });

  it('rejects with TIMEOUT after the send deadline', async () => {
    const o = makeClient({ sendTimeoutMs: 10, sendDeadlineMs: 40 });
    await open(o);
    const err = await o.client.send('g', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe('TIMEOUT');
  });

  it('bounds pending sends', async () => {
    const o = makeClient({ maxPendingSends: 2 });
    await open(o);
    void o.client.send('g', '1').catch(() => {});
    void o.client.send('g', '2').catch(() => {});
    const err = await o.client.send('g', '3').catch((e: unknown) => e);
    expect((err as ClientError).code).toBe('TOO_MANY_PENDING');
    expect(o.client.pendingSends).toBe(2);
  });

  it.each([
    ['an invalid group id', () => ['bad group', 'x', {}] as const],
    ['an empty id', () => ['g', 'x', { id: '' }] as const],
  ])('rejects %s locally with BAD_FRAME', async (_name, args) => {
    const o = makeClient();
    const conn = await open(o);
    const [groupId, body, opts] = args();
    const err = await o.client.send(groupId, body, opts).catch((e: unknown) => e);
    expect((err as ProtocolError).code).toBe('BAD_FRAME');
    expect(conn.framesOf('send')).toEqual([]);
  });

  it('returns sync pages to the caller', async () => {
    const o = makeClient();
    const conn = await open(o);
    const syncing = o.client.sync('g', 10, 2);
    const frame = await conn.nextFrame('sync');
    expect(frame).toMatchObject({ groupId: 'g', afterSeq: 10, limit: 2 });
    conn.send({ type: 'sync.result', id: frame.id, groupId: 'g', messages: [{ type: 'msg', groupId: 'g', seq: 11, from: 'b', body: 'x', ts: 5 }], more: true });
    const page = await syncing;
    expect(page.more).toBe(true);
    expect(page.messages.map((m) => m.seq)).toEqual([11]);
    expect(o.messages).toEqual([]);
  });
});

describe('reconnecting', () => {
  it('reconnects after 1001 and re-sends unconfirmed sends with the same id', async () => {
    const o = makeClient();
    const first = await open(o);
    const sending = o.client.send('g', 'survives');
    const before = await first.nextFrame('send');
    first.close(1001, 'gate shutting down');
    const second = await peer.connection(1);
    expect(o.closes[0]).toEqual({ code: 1001, reason: 'gate shutting down', willReconnect: true });
    expect(o.states).toContain('reconnecting');
    expect(second.framesOf('send')).toEqual([]); // nothing before the welcome
    second.welcome();
    const after = await second.nextFrame('send');
    expect(after).toEqual(before);
    second.send({ type: 'sent', id: after.id, groupId: 'g', seq: 5, ts: 1 });
    await expect(sending).resolves.toMatchObject({ id: before.id, seq: 5 });
    expect(o.states).toEqual(['connecting', 'open', 'reconnecting', 'connecting', 'open']);
  });

  it('resumes an interrupted gap fill after reconnecting', async () => {
    const o = makeClient();
    o.client.setLastSeq('g', 0);
    const first = await open(o);
    first.msg('g', 3);
    await first.nextFrame('sync');
    first.close(1001);
    const second = await peer.connection(1);
    second.welcome();
    const sync = await second.nextFrame('sync');
    expect(sync).toMatchObject({ afterSeq: 0, limit: 2 });
    second.send({
      type: 'sync.result',
      id: sync.id,
      groupId: 'g',
      messages: [1, 2].map((seq) => ({ type: 'msg', groupId: 'g', seq, from: 'b', body: '', ts: 1 })),
      more: true,
    });
    await eventually(() => o.messages.length === 3);
    expect(seqs(o)).toEqual([1, 2, 3]);
  });

  it.each([4500, 4501, 4999])('does not reconnect after close code %i and rejects pending sends', async (code) => {
    const o = makeClient();
    const conn = await open(o);
    const sending = o.client.send('g', 'x');
    await conn.nextFrame('send');
    conn.close(code, 'terminal');
    const err = await sending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err).toMatchObject({ code: 'CLOSED', closeCode: code });
    expect(o.client.state).toBe('closed');
    expect(o.closes).toEqual([{ code, reason: 'terminal', willReconnect: false }]);
    await new Promise((r) => setTimeout(r, 100)); // five times reconnectMaxMs
    expect(peer.connections).toHaveLength(1);
    await expect(o.client.send('g', 'y')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('does not reconnect after the app closes, and rejects pending requests', async () => {
    const o = makeClient();
    const conn = await open(o);
    const sending = o.client.send('g', 'x');
    o.client.close();
    await expect(sending).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await conn.closed).toBe(1000);
    expect(o.client.state).toBe('closed');
    expect(o.closes).toEqual([{ code: 1000, reason: 'closed by the app', willReconnect: false }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(peer.connections).toHaveLength(1);
  });

  it('keeps retrying a gate that refuses connections until the app closes', async () => {
    const url = peer.url;
    await peer.stop();
    const o = makeClient({ url });
    const connected = o.client.connect();
    await eventually(() => o.closes.length >= 2);
    expect(o.closes.every((c) => c.willReconnect && c.code === 1006)).toBe(true);
    o.client.close();
    await expect(connected).rejects.toMatchObject({ code: 'CLOSED' });
    peer = await ScriptedPeer.start();
  });
});
