/**
 * The gate against scripted logic peers (real WebSocket servers speaking the internal protocol)
 * and the real test Redis Cluster: request routing and error pass-through, login backlog before
 * live messages, duplicate and gap handling, missed notices, re-sending when a node dies, hung
 * node detection, membership reload without dropping clients, slow consumers, admin ops.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { HashRing } from '../../../runtime/routing/hash-ring.js';
import { RawClient } from '../../support/raw-client.js';
import { randomId, startTestGate, type TestGate } from './gate-harness.js';
import { connectReady, loginOk, msg, ScriptedLogic } from './scripted-logic.js';
import { eventually } from '../../support/eventually.js';

const waitFor = (cond: () => boolean | Promise<boolean>, what: string) => eventually(`waiting for ${what}`, cond, { intervalMs: 20 });

const TOKEN = 'test-internal-token';
const seeds = () => inject('redisSeeds');




async function roundTrip(c: RawClient): Promise<void> {
  const n = c.frames.filter((f) => f.type === 'pong').length;
  c.send({ type: 'ping' });
  await c.next(() => c.frames.filter((f) => f.type === 'pong').length > n);
}

const seqs = (c: RawClient, groupId: string) => c.messages(groupId).map((m) => m.seq);

describe('one logic node', () => {
  let a: ScriptedLogic;
  let g: TestGate;

  beforeAll(async () => {
    a = await ScriptedLogic.start('logic-a', TOKEN);
    g = await startTestGate(seeds(), { IMGROUP_REQUEST_TIMEOUT_MS: '1500', IMGROUP_GAP_FILL_TIMEOUT_MS: '1000' }, [a.member]);
    await waitFor(() => g.gate.linksUp() === 1, 'the link');
  });
  afterAll(async () => {
    await g?.close();
    await a?.kill();
  });
  afterEach(() => {
    a.handler = loginOk;
  });

  it('opens the link with the internal token, gate name and boot id, and becomes ready', async () => {
    expect(a.handshakes[0]).toEqual({ authorization: `Bearer ${TOKEN}`, gate: g.gate.name, boot: g.gate.bootId });
    expect(await g.metric('imgroup_gate_logic_links_up')).toBe(1);
    expect(await g.metric('imgroup_gate_membership_version_info', { version: g.gate.membershipVersion() as string })).toBe(1);
    await waitFor(async () => (await Promise.all(g.gate.readiness.map((r) => r.check()))).every((x) => x === null), 'readiness');
  });

  it('routes send, sync and ack, and passes logic error codes through', async () => {
    a.handler = (req) => {
      if (req.op === 'login') return { ok: true, result: { groups: 0, delivered: 0 } };
      if (req.op === 'send' && req.groupId === 'closed-group') return { ok: false, code: 'NOT_MEMBER', message: 'not a member of closed-group' };
      if (req.op === 'send' && req.groupId === 'broken') return { ok: true, result: { seq: 'seven' } };
      if (req.op === 'send') return { ok: true, result: { seq: 42, ts: 1234 } };
      if (req.op === 'sync') return { ok: true, result: { messages: [msg('g1', 5), msg('g1', 6)], more: true } };
      return 'hang';
    };
    const userId = randomId('u');
    const c = await connectReady(g, a, userId);
    expect(await c.request({ type: 'send', id: 'c-1', groupId: 'g1', body: 'hello' })).toEqual({ type: 'sent', id: 'c-1', groupId: 'g1', seq: 42, ts: 1234 });
    expect(a.requests('send').at(-1)).toMatchObject({ op: 'send', userId, groupId: 'g1', clientId: 'c-1', body: 'hello' });
    expect(await c.request({ type: 'sync', id: 'y-1', groupId: 'g1', afterSeq: 4 })).toEqual({
      type: 'sync.result',
      id: 'y-1',
      groupId: 'g1',
      messages: [{ type: 'msg', ...msg('g1', 5) }, { type: 'msg', ...msg('g1', 6) }],
      more: true,
    });
    expect(a.requests('sync').at(-1)).toMatchObject({ userId, groupId: 'g1', afterSeq: 4, limit: 100 });
    expect(await c.request({ type: 'send', id: 'c-2', groupId: 'closed-group', body: 'x' })).toMatchObject({ type: 'error', id: 'c-2', code: 'NOT_MEMBER', message: 'not a member of closed-group' });
    expect(await c.request({ type: 'send', id: 'c-3', groupId: 'broken', body: 'x' })).toMatchObject({ type: 'error', id: 'c-3', code: 'INTERNAL' });
    c.send({ type: 'ack', groupId: 'g1', seq: 6 });
    await a.until(() => a.received.some((f) => f.t === 'ack' && f.userId === userId));
    expect(a.received.find((f) => f.t === 'ack' && f.userId === userId)).toEqual({ t: 'ack', userId, groupId: 'g1', seq: 6 });
    c.close();
  });

  it('answers UNAVAILABLE when logic does not answer in time', async () => {
    a.handler = (req) => (req.op === 'login' ? { ok: true, result: { groups: 0, delivered: 0 } } : 'hang');
    const c = await connectReady(g, a, randomId('u'));
    expect(await c.request({ type: 'send', id: 'late', groupId: 'g1', body: 'x' })).toMatchObject({ type: 'error', id: 'late', code: 'UNAVAILABLE' });
    c.close();
  });

  it('delivers the login backlog first and holds live messages until the login answer', async () => {
    const userId = randomId('u');
    const group = randomId('g');
    a.handler = (req) => {
      if (req.op !== 'login') return 'hang';
      // A live message overtakes the backlog, then the backlog, then the answer.
      a.push({ t: 'deliver', groupId: group, msgs: [msg(group, 3)], users: [userId], path: 'online' });
      a.push({ t: 'deliver', groupId: group, msgs: [msg(group, 1), msg(group, 2)], conns: [req.connId], path: 'offline' });
      return new Promise((resolve) => setTimeout(() => resolve({ ok: true, result: { groups: 1, delivered: 2 } }), 50));
    };
    const c = await RawClient.connect(g.wsUrl, await g.token(userId));
    await c.waitMessages(group, 3);
    a.push({ t: 'deliver', groupId: group, msgs: [msg(group, 3), msg(group, 4)], users: [userId], path: 'online' });
    await c.waitMessages(group, 4);
    await roundTrip(c);
    expect(seqs(c, group)).toEqual([1, 2, 3, 4]);
    expect(c.messages(group)[0]).toEqual({ type: 'msg', ...msg(group, 1) });
    c.close();
  });

  it('retries a failed login replay and keeps holding the live messages until one is answered', async () => {
    const userId = randomId('u');
    const group = randomId('g');
    let logins = 0;
    a.handler = (req) => {
      if (req.op !== 'login' || req.userId !== userId) return req.op === 'login' ? { ok: true, result: { groups: 0, delivered: 0 } } : 'hang';
      logins++;
      if (logins === 1) {
        // A live message arrives while the first replay runs, which then fails: releasing seq 5
        // would make the client start the group at 5 and ack past 1..4, the replay's backlog.
        a.push({ t: 'deliver', groupId: group, msgs: [msg(group, 5)], users: [userId], path: 'online' });
        return { ok: false, code: 'UNAVAILABLE', message: 'redis down' };
      }
      a.push({ t: 'deliver', groupId: group, msgs: [1, 2, 3, 4, 5].map((s) => msg(group, s)), conns: [req.connId], path: 'offline' });
      return { ok: true, result: { groups: 1, delivered: 5 } };
    };
    const retriesBefore = await g.metric('imgroup_gate_login_replay_retries_total');
    const c = await RawClient.connect(g.wsUrl, await g.token(userId));
    await c.waitMessages(group, 5);
    await roundTrip(c);
    expect(seqs(c, group)).toEqual([1, 2, 3, 4, 5]);
    expect(logins).toBe(2);
    expect(await g.metric('imgroup_gate_login_replay_retries_total')).toBe(retriesBefore + 1);
    c.close();
  });

  it('drops duplicates and fetches a small gap before delivering newer messages', async () => {
    const userId = randomId('u');
    const group = randomId('g');
    a.handler = (req) => {
      if (req.op === 'login') return { ok: true, result: { groups: 0, delivered: 0 } };
      if (req.op === 'sync') return { ok: true, result: { messages: [msg(group, 2), msg(group, 3)], more: true } };
      return 'hang';
    };
    const c = await connectReady(g, a, userId);
    await roundTrip(c);
    const fills = await g.metric('imgroup_gate_gap_fills_total', { outcome: 'ok' });
    for (const s of [1, 1, 4, 2]) a.push({ t: 'deliver', groupId: group, msgs: [msg(group, s)], users: [userId], path: 'online' });
    await c.waitMessages(group, 4);
    a.push({ t: 'deliver', groupId: group, msgs: [msg(group, 5)], users: [userId], path: 'sweep' });
    await c.waitMessages(group, 5);
    expect(seqs(c, group)).toEqual([1, 2, 3, 4, 5]);
    expect(a.requests('sync').filter((r) => r.groupId === group)).toEqual([
      expect.objectContaining({ userId, groupId: group, afterSeq: 1, limit: 2 }),
    ]);
    expect(await g.metric('imgroup_gate_gap_fills_total', { outcome: 'ok' })).toBe(fills + 1);
    c.close();
  });

  it('delivers held messages as they are when the gap fetch fails, and large gaps without fetching', async () => {
    const userId = randomId('u');
    const group = randomId('g');
    a.handler = (req) => {
      if (req.op === 'login') return { ok: true, result: { groups: 0, delivered: 0 } };
      if (req.op === 'sync') return { ok: false, code: 'UNAVAILABLE', message: 'redis down' };
      return 'hang';
    };
    const c = await connectReady(g, a, userId);
    for (const s of [10, 12, 500]) a.push({ t: 'deliver', groupId: group, msgs: [msg(group, s)], users: [userId], path: 'online' });
    await c.waitMessages(group, 3);
    expect(seqs(c, group)).toEqual([10, 12, 500]);
    expect(a.requests('sync').filter((r) => r.groupId === group)).toHaveLength(1);
    c.close();
  });

  it('writes one message to every device of every listed user and reports users it does not hold', async () => {
    const u1 = randomId('u');
    const u2 = randomId('u');
    const ghost = randomId('ghost');
    const group = randomId('g');
    const c1 = await connectReady(g, a, u1);
    const c1b = await connectReady(g, a, u1);
    const c2 = await connectReady(g, a, u2);
    const before = await g.metric('imgroup_gate_deliveries_total', { path: 'online' });
    a.push({ t: 'deliver', groupId: group, msgs: [msg(group, 1), msg(group, 2)], users: [u1, ghost, u2], path: 'online' });
    for (const c of [c1, c1b, c2]) {
      await c.waitMessages(group, 2);
      expect(seqs(c, group)).toEqual([1, 2]);
    }
    await a.until(() => a.received.some((f) => f.t === 'missed' && f.groupId === group));
    expect(a.received.filter((f) => f.t === 'missed' && f.groupId === group)).toEqual([{ t: 'missed', groupId: group, users: [ghost] }]);
    expect(await g.metric('imgroup_gate_deliveries_total', { path: 'online' })).toBe(before + 6);
    for (const c of [c1, c1b, c2]) c.close();
  });

  it('closes a connection that stops reading with 4001 (slow consumer), leaving others alone', async () => {
    const slow = await startTestGate(seeds(), { IMGROUP_MAX_FRAME_BYTES: '16384', IMGROUP_MAX_BODY_BYTES: '8192', IMGROUP_SEND_BUFFER_BYTES: '65536', IMGROUP_HEARTBEAT_MS: '30000' }, [a.member]);
    try {
      await waitFor(() => slow.gate.linksUp() === 1, 'the link');
      const userId = randomId('slow');
      const group = randomId('g');
      const c = await connectReady(slow, a, userId);
      const other = await connectReady(slow, a, randomId('fine'));
      (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
      const body = 'b'.repeat(8000);
      let seq = 0;
      for (let round = 0; round < 400 && (await slow.metric('imgroup_gate_deliveries_dropped_total', { reason: 'closed' })) === 0; round++) {
        const msgs = Array.from({ length: 50 }, () => ({ ...msg(group, ++seq), body }));
        for (const link of a.links) a.push({ t: 'deliver', groupId: group, msgs, users: [userId], path: 'online' }, link);
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(await slow.metric('imgroup_gate_deliveries_dropped_total', { reason: 'closed' })).toBeGreaterThan(0);
      (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      expect((await c.waitClose(30_000)).code).toBe(4001);
      await roundTrip(other);
      other.close();
    } finally {
      await slow.close();
    }
  });

  it('serves the admin API through logic', async () => {
    const group = randomId('g');
    a.handler = (req) => {
      if (req.op === 'members.update') return { ok: true, result: { members: req.add.length } };
      if (req.op === 'members.get') return { ok: true, result: { members: ['u1', 'u2'] } };
      if (req.op === 'post') return { ok: true, result: { seq: 9, ts: 1 } };
      return 'hang';
    };
    expect(await g.admin('PUT', `/v1/groups/${group}/members`, { add: ['u1', 'u2', 'u1'] })).toMatchObject({ status: 200, body: { groupId: group, members: 2 } });
    expect(a.requests('members.update').at(-1)).toMatchObject({ groupId: group, add: ['u1', 'u2'], remove: [] });
    expect(await g.admin('GET', `/v1/groups/${group}/members`)).toMatchObject({ status: 200, body: { groupId: group, members: ['u1', 'u2'] } });
    expect(await g.admin('POST', `/v1/groups/${group}/messages`, { body: 'maintenance at noon' })).toMatchObject({ status: 200, body: { seq: 9 } });
    const post = a.requests('post').at(-1);
    expect(post).toMatchObject({ groupId: group, from: 'system', body: 'maintenance at noon', clientId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });
});

describe('several logic nodes', () => {
  it('re-sends a request in flight to the new owner when its node dies', async () => {
    const a = await ScriptedLogic.start('logic-a', TOKEN);
    const b = await ScriptedLogic.start('logic-b', TOKEN);
    const g = await startTestGate(seeds(), {}, [a.member, b.member]);
    try {
      await waitFor(() => g.gate.linksUp() === 2, 'both links');
      const ring = new HashRing([a.id, b.id]);
      let group = randomId('g');
      while (ring.owner(group) !== b.id) group = randomId('g');
      a.handler = (req) => (req.op === 'send' ? { ok: true, result: { seq: 7, ts: 70 } } : { ok: true, result: { groups: 0, delivered: 0 } });
      b.handler = (req) => (req.op === 'send' ? 'hang' : { ok: true, result: { groups: 0, delivered: 0 } });
      const userId = randomId('u');
      const c = await RawClient.connect(g.wsUrl, await g.token(userId));
      c.send({ type: 'send', id: 'move-me', groupId: group, body: 'hi' });
      await b.until(() => b.requests('send').length === 1);
      await b.kill();
      expect(await c.next((f) => f.id === 'move-me')).toEqual({ type: 'sent', id: 'move-me', groupId: group, seq: 7, ts: 70 });
      expect(a.requests('send')).toEqual([expect.objectContaining({ clientId: 'move-me', groupId: group, userId })]);
      expect(g.gate.linksUp()).toBe(1);
      expect(await g.metric('imgroup_gate_route_retries_total', { op: 'send' })).toBe(1);
      c.close();
    } finally {
      await g.close();
      await a.kill();
    }
  });

  it('routes around a node that announces draining and re-sends what it refuses to the new owner', async () => {
    const a = await ScriptedLogic.start('logic-a', TOKEN);
    const b = await ScriptedLogic.start('logic-b', TOKEN);
    const g = await startTestGate(seeds(), {}, [a.member, b.member]);
    try {
      await waitFor(() => g.gate.linksUp() === 2, 'both links');
      const ring = new HashRing([a.id, b.id]);
      let group = randomId('g');
      while (ring.owner(group) !== b.id) group = randomId('g');
      let seq = 0;
      a.handler = (req) => (req.op === 'send' ? { ok: true, result: { seq: ++seq, ts: 70 } } : { ok: true, result: { groups: 0, delivered: 0 } });
      let refuse: (() => void) | null = null;
      const refused = new Promise<void>((r) => (refuse = r));
      b.handler = async (req) => {
        if (req.op !== 'send') return { ok: true, result: { groups: 0, delivered: 0 } };
        await refused;
        return { ok: false, code: 'UNAVAILABLE', message: 'logic node is shutting down; retry on another node' };
      };
      const c = await RawClient.connect(g.wsUrl, await g.token(randomId('u')));
      c.send({ type: 'send', id: 'first', groupId: group, body: 'hi' });
      await b.until(() => b.requests('send').length === 1);
      for (const ws of b.links) ws.send(JSON.stringify({ t: 'draining' }));
      await waitFor(() => g.gate.linksUp() === 1, 'the draining node to leave the ring while its link stays open');
      expect(b.links.size).toBe(1);
      (refuse as unknown as () => void)();
      expect(await c.next((f) => f.id === 'first')).toEqual({ type: 'sent', id: 'first', groupId: group, seq: 1, ts: 70 });
      expect(await c.request({ type: 'send', id: 'second', groupId: group, body: 'again' })).toMatchObject({ type: 'sent', seq: 2 });
      expect(b.requests('send')).toHaveLength(1);
      expect(await g.metric('imgroup_gate_route_retries_total', { op: 'send' })).toBe(1);
      expect(c.frames.filter((f) => f.type === 'error')).toEqual([]);
      c.close();
    } finally {
      await g.close();
      await a.kill();
      await b.kill();
    }
  });

  it('applies a new membership document without dropping client connections', async () => {
    const a = await ScriptedLogic.start('logic-a', TOKEN);
    const b = await ScriptedLogic.start('logic-b', TOKEN);
    a.handler = loginOk;
    b.handler = loginOk;
    const g = await startTestGate(seeds(), {}, [a.member]);
    try {
      await waitFor(() => g.gate.linksUp() === 1, 'the first link');
      const v1 = g.gate.membershipVersion() as string;
      const c = await RawClient.connect(g.wsUrl, await g.token(randomId('u')));
      g.writeMembership([a.member, b.member]);
      await waitFor(() => g.gate.linksUp() === 2, 'the second link');
      const v2 = g.gate.membershipVersion() as string;
      expect(v2).not.toBe(v1);
      expect(await g.metric('imgroup_gate_membership_version_info', { version: v2 })).toBe(1);
      expect(await g.metric('imgroup_gate_membership_version_info', { version: v1 })).toBe(0);
      g.writeMembership([b.member]);
      await waitFor(() => a.links.size === 0, 'the removed node to be disconnected');
      expect(g.gate.linksUp()).toBe(1);
      await roundTrip(c);
      expect(c.closed).toBeNull();
      c.close();
    } finally {
      await g.close();
      await a.kill();
      await b.kill();
    }
  });

  it('drops a node that stops answering pings from the ring', async () => {
    const hung = await ScriptedLogic.start('logic-hung', TOKEN, { autoPong: false });
    const g = await startTestGate(seeds(), { IMGROUP_LINK_PING_MS: '100' }, [hung.member]);
    try {
      // The link opens, is dropped for silence, and is re-opened: at least two handshakes.
      await hung.until(() => hung.handshakes.length >= 2);
      expect(hung.handshakes.every((h) => h.boot === g.gate.bootId)).toBe(true);
    } finally {
      await g.close();
      await hung.kill();
    }
  });
});
