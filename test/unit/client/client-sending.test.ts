/**
 * ImgroupClient against a scripted protocol peer (a real ws server on 127.0.0.1, port 0):
 * sending, syncing and reconnecting.
 */
import { describe, expect, it } from 'vitest';
import { ClientError, ProtocolError } from '../../../runtime/client/index.js';
import { eventually } from '../../support/eventually.js';
import { seqs, SOON, useClientFixture } from './client-fixture.js';

const fixture = useClientFixture();
const makeClient = fixture.makeClient;
const open = fixture.open;

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
    await eventually('conn.framesOf(send).length === 3', () => conn.framesOf('send').length === 3, SOON);
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
    const second = await fixture.peer.connection(1);
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
    const second = await fixture.peer.connection(1);
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
    await eventually('o.messages.length === 3', () => o.messages.length === 3, SOON);
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
    expect(fixture.peer.connections).toHaveLength(1);
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
    expect(fixture.peer.connections).toHaveLength(1);
  });

  it('keeps retrying a gate that refuses connections until the app closes', async () => {
    const url = fixture.peer.url;
    await fixture.peer.stop();
    const o = makeClient({ url });
    const connected = o.client.connect();
    await eventually('o.closes.length >= 2', () => o.closes.length >= 2, SOON);
    expect(o.closes.every((c) => c.willReconnect && c.code === 1006)).toBe(true);
    o.client.close();
    await expect(connected).rejects.toMatchObject({ code: 'CLOSED' });
    await fixture.restartPeer();
  });
});
