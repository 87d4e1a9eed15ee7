/**
 * The gate's fan-out write path against a scripted logic peer and real clients: messages are
 * framed once and written to each client's corked socket, uncorked at the end of the tick. Many
 * deliver frames landing together must still reach every connection complete, in order and once;
 * replies written through ws in the same tick keep their place between the messages; what a
 * tick writes does not count against the slow-consumer bound (nothing has tried to send it yet).
 * Notices to logic (acks) are corked per turn of the event loop; none is lost or reordered.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RawClient } from '../../support/raw-client.js';
import { randomId, startTestGate, type TestGate } from './gate-harness.js';
import { connectReady, loginOk, msg, ScriptedLogic } from './scripted-logic.js';
import { eventually } from '../../support/eventually.js';

const waitFor = (cond: () => boolean | Promise<boolean>, what: string) => eventually(`waiting for ${what}`, cond, { intervalMs: 20 });

const TOKEN = 'test-internal-token';




const seqs = (c: RawClient, groupId: string) => c.messages(groupId).map((m) => m.seq as number);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('fan-out writes', () => {
  let a: ScriptedLogic;
  let g: TestGate;

  beforeAll(async () => {
    a = await ScriptedLogic.start('logic-a', TOKEN);
    a.handler = loginOk;
    g = await startTestGate(inject('redisSeeds'), { IMGROUP_HEARTBEAT_MS: '30000' }, [a.member]);
    await waitFor(() => g.gate.linksUp() === 1, 'the link');
  });
  afterAll(async () => {
    await g?.close();
    await a?.kill();
  });

  it('delivers big batches of two groups, pushed back to back, complete and in order to every device', async () => {
    const users = Array.from({ length: 20 }, () => randomId('u'));
    const clients: RawClient[] = [];
    for (const [i, u] of users.entries()) {
      clients.push(await connectReady(g, a, u));
      if (i % 4 === 0) clients.push(await connectReady(g, a, u)); // a second device
    }
    const g1 = randomId('g');
    const g2 = randomId('g');
    const before = await g.metric('imgroup_gate_deliveries_total', { path: 'online' });
    // 1,000 messages of g1 in 5 frames of 200 and 300 of g2 in 3 frames, interleaved and sent in
    // one go, so most land in the same reads of the link and are written in the same ticks.
    for (let f = 0; f < 5; f++) {
      a.push({ t: 'deliver', groupId: g1, msgs: range(f * 200 + 1, f * 200 + 200).map((s) => msg(g1, s)), users, path: 'online' });
      if (f < 3) a.push({ t: 'deliver', groupId: g2, msgs: range(f * 100 + 1, f * 100 + 100).map((s) => msg(g2, s)), users, path: 'online' });
    }
    for (const c of clients) {
      await c.waitMessages(g1, 1000, 30_000);
      await c.waitMessages(g2, 300, 30_000);
    }
    for (const c of clients) {
      expect(seqs(c, g1)).toEqual(range(1, 1000));
      expect(seqs(c, g2)).toEqual(range(1, 300));
      expect(c.frames.filter((f) => f.type === '<unparsable>')).toEqual([]);
    }
    expect(c0(clients).messages(g1)[999]).toEqual({ type: 'msg', ...msg(g1, 1000) });
    expect(await g.metric('imgroup_gate_deliveries_total', { path: 'online' })).toBe(before + clients.length * 1300);
    for (const c of clients) c.close();
  });

  it('keeps replies written in the same tick in their place between the messages', async () => {
    const userId = randomId('u');
    const group = randomId('g');
    a.handler = (req, link) => {
      if (req.op === 'login') return { ok: true, result: { groups: 0, delivered: 0 } };
      if (req.op !== 'sync') return 'hang';
      // Messages, then the answer, then more messages: one write of the link, one tick of the gate.
      a.push({ t: 'deliver', groupId: group, msgs: range(1, 50).map((s) => msg(group, s)), users: [userId], path: 'online' }, link);
      return { ok: true, result: { messages: [], more: false } };
    };
    const c = await connectReady(g, a, userId);
    const answered = c.request({ type: 'sync', id: 'y-1', groupId: group, afterSeq: 0 });
    await answered;
    a.push({ t: 'deliver', groupId: group, msgs: range(51, 60).map((s) => msg(group, s)), users: [userId], path: 'online' });
    await c.waitMessages(group, 60);
    const order = c.frames.filter((f) => f.type === 'msg' || f.type === 'sync.result').map((f) => (f.type === 'msg' ? f.seq : 'answer'));
    expect(order).toEqual([...range(1, 50), 'answer', ...range(51, 60)]);
    c.close();
    a.handler = loginOk;
  });

  it('forwards every ack in the order each client sent it, and a request after the acks sent before it', async () => {
    const group = randomId('g');
    a.handler = (req) => {
      if (req.op === 'login') return { ok: true, result: { groups: 0, delivered: 0 } };
      if (req.op === 'send') return { ok: true, result: { seq: 1, ts: 1 } };
      return 'hang';
    };
    const users = Array.from({ length: 30 }, () => randomId('u'));
    const clients = await Promise.all(users.map((u) => connectReady(g, a, u)));
    for (const c of clients) for (let seq = 1; seq <= 5; seq++) c.send({ type: 'ack', groupId: group, seq });
    const first = c0(clients);
    expect(await first.request({ type: 'send', id: 's-1', groupId: group, body: 'after my acks' })).toMatchObject({ type: 'sent', id: 's-1' });
    await a.until(() => a.received.filter((f) => f.t === 'ack' && f.groupId === group).length === 150);
    const acks = a.received.filter((f) => f.t === 'ack' && f.groupId === group);
    for (const u of users) expect(acks.filter((f) => f.userId === u).map((f) => f.seq)).toEqual([1, 2, 3, 4, 5]);
    const firstUser = users[0];
    const sendAt = a.received.findIndex((f) => f.t === 'req' && f.op === 'send' && f.groupId === group);
    const lastAckAt = a.received.findLastIndex((f) => f.t === 'ack' && f.userId === firstUser);
    expect(sendAt).toBeGreaterThan(lastAckAt);
    for (const c of clients) c.close();
    a.handler = loginOk;
  });

  it('does not count the bytes of the tick being written against the slow-consumer bound', async () => {
    const small = await startTestGate(inject('redisSeeds'), { IMGROUP_MAX_FRAME_BYTES: '16384', IMGROUP_MAX_BODY_BYTES: '8192', IMGROUP_SEND_BUFFER_BYTES: '65536', IMGROUP_HEARTBEAT_MS: '30000' }, [a.member]);
    try {
      await waitFor(() => small.gate.linksUp() === 1, 'the link');
      const userId = randomId('u');
      const group = randomId('g');
      const c = await connectReady(small, a, userId);
      // 200 × ~1 KiB = 3 times the bound, written in one tick to a client that reads.
      const body = 'b'.repeat(1000);
      for (const link of a.links) a.push({ t: 'deliver', groupId: group, msgs: range(1, 200).map((s) => ({ ...msg(group, s), body })), users: [userId], path: 'online' }, link);
      await c.waitMessages(group, 200);
      expect(seqs(c, group)).toEqual(range(1, 200));
      expect(c.closed).toBeNull();
      expect(await small.metric('imgroup_gate_connections_closed_total', { code: '4001' })).toBe(0);
      c.close();
    } finally {
      await small.close();
    }
  });
});

function c0(clients: RawClient[]): RawClient {
  const c = clients[0];
  if (!c) throw new Error('no clients');
  return c;
}
