/**
 * A gate in-process against the real test Redis Cluster, with real ws clients and no logic node
 * reachable (the membership document is empty): handshake auth, welcome, every client frame
 * rejection, limits, presence, admin API guards, and UNAVAILABLE for work that needs logic.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { eventually } from '../../support/eventually.js';
import { RawClient } from '../../support/raw-client.js';
import { randomId, startTestGate, type TestGate } from './gate-harness.js';

let g: TestGate;

beforeAll(async () => {
  g = await startTestGate(inject('redisSeeds'), {
    IMGROUP_MAX_BAD_FRAMES: '100',
    IMGROUP_MAX_FRAME_BYTES: '4096',
    IMGROUP_MAX_BODY_BYTES: '1024',
    IMGROUP_SEND_BUFFER_BYTES: '65536',
    IMGROUP_MAX_ADMIN_BODY_BYTES: '2048',
    IMGROUP_RATE_PER_SEC: '1000',
    IMGROUP_RATE_BURST: '1000',
  });
});
afterAll(async () => {
  await g?.close();
});

/** Open a raw handshake and report the HTTP status it was refused with (or 101). */
function handshakeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', (err) => {
      if (!String(err.message).includes('Unexpected server response')) reject(err);
    });
  });
}

async function connect(userId = randomId('u')): Promise<RawClient> {
  return RawClient.connect(g.wsUrl, await g.token(userId), { header: true });
}

async function ping(c: RawClient): Promise<void> {
  const before = c.frames.filter((f) => f.type === 'pong').length;
  c.send({ type: 'ping' });
  await c.next(() => c.frames.filter((f) => f.type === 'pong').length > before);
}

describe('handshake', () => {
  const expired = async () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime(Math.floor(Date.now() / 1000) - 5).sign(new TextEncoder().encode(g.options.jwtSecret));
  const forged = async () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('1h').sign(new TextEncoder().encode('x'.repeat(32)));

  const refused: Array<[string, 'missing' | 'invalid' | 'expired', () => Promise<{ url: string; headers?: Record<string, string> }>]> = [
    ['no token', 'missing', async () => ({ url: g.wsUrl })],
    ['a forged token in the header', 'invalid', async () => ({ url: g.wsUrl, headers: { authorization: `Bearer ${await forged()}` } })],
    ['a forged token in the query', 'invalid', async () => ({ url: `${g.wsUrl}?token=${await forged()}` })],
    ['garbage in the query', 'invalid', async () => ({ url: `${g.wsUrl}?token=garbage` })],
    ['a Basic authorization header', 'invalid', async () => ({ url: g.wsUrl, headers: { authorization: 'Basic YTpi' } })],
    ['an expired token in the header', 'expired', async () => ({ url: g.wsUrl, headers: { authorization: `Bearer ${await expired()}` } })],
    ['an expired token in the query', 'expired', async () => ({ url: `${g.wsUrl}?token=${await expired()}` })],
  ];

  it.each(refused)('refuses %s with HTTP 401 and counts the reason', async (_name, reason, make) => {
    const before = await g.metric('imgroup_gate_auth_failures_total', { reason });
    const { url, headers } = await make();
    expect(await handshakeStatus(url, headers)).toBe(401);
    expect(await g.metric('imgroup_gate_auth_failures_total', { reason })).toBe(before + 1);
  });

  it('answers other paths with 404 and a valid token with 101', async () => {
    const token = await g.token('alice');
    expect(await handshakeStatus(g.wsUrl.replace('/v1/ws', '/v2/ws'), { authorization: `Bearer ${token}` })).toBe(404);
    expect(await handshakeStatus(`${g.wsUrl}?token=${token}`)).toBe(101);
  });

  it('sends welcome with the user, a connection id, the gate name and the heartbeat', async () => {
    const userId = randomId('u');
    const c = await connect(userId);
    const welcome = c.frames[0];
    expect(welcome).toEqual({ type: 'welcome', userId, connId: expect.any(String), gate: g.gate.name, heartbeatMs: 1000 });
    c.close();
  });
});

describe('client frames', () => {
  const big = 'x'.repeat(5000);
  const rejections: Array<[string, string | Buffer, string, string | null]> = [
    ['text that is not JSON', '{nope', 'BAD_FRAME', null],
    ['a JSON array', '[1,2]', 'BAD_FRAME', null],
    ['a frame without type', '{"id":"r1"}', 'BAD_FRAME', 'r1'],
    ['an unknown type', '{"type":"subscribe","id":"r2"}', 'UNKNOWN_TYPE', 'r2'],
    ['send without id', '{"type":"send","groupId":"g","body":"x"}', 'BAD_FRAME', null],
    ['send with a bad group id', '{"type":"send","id":"r3","groupId":"a b","body":"x"}', 'BAD_FRAME', 'r3'],
    ['send without body', '{"type":"send","id":"r4","groupId":"g"}', 'BAD_FRAME', 'r4'],
    ['send with a body over the body limit', JSON.stringify({ type: 'send', id: 'r5', groupId: 'g', body: 'y'.repeat(1025) }), 'FRAME_TOO_LARGE', 'r5'],
    ['a frame over the frame limit', JSON.stringify({ type: 'send', id: 'r6', groupId: 'g', body: big }), 'FRAME_TOO_LARGE', null],
    ['sync with a limit over the maximum', '{"type":"sync","id":"r7","groupId":"g","afterSeq":0,"limit":1001}', 'BAD_FRAME', 'r7'],
    ['sync with a negative afterSeq', '{"type":"sync","id":"r8","groupId":"g","afterSeq":-1}', 'BAD_FRAME', 'r8'],
    ['ack with seq 0', '{"type":"ack","groupId":"g","seq":0}', 'BAD_FRAME', null],
    ['a binary frame', Buffer.from('{"type":"ping"}'), 'BAD_FRAME', null],
  ];

  it.each(rejections)('answers %s with its error frame; that connection and another keep working', async (_name, raw, code, id) => {
    const c = await connect();
    const other = await connect();
    const before = await g.metric('imgroup_gate_frame_errors_total', { code });
    c.ws.send(raw);
    const err = await c.next((f) => f.type === 'error');
    expect(err).toMatchObject({ type: 'error', id, code, message: expect.any(String) });
    expect(err.message.length).toBeGreaterThan(5);
    await ping(c);
    await ping(other);
    expect(await g.metric('imgroup_gate_frame_errors_total', { code })).toBe(before + 1);
    c.close();
    other.close();
  });

  it('closes with 1009 a frame over the hard cap (4x the frame limit)', async () => {
    const c = await connect();
    const other = await connect();
    c.ws.send('x'.repeat(4 * 4096 + 1));
    expect((await c.waitClose()).code).toBe(1009);
    await ping(other);
    other.close();
  });

  it('answers ping with pong', async () => {
    const c = await connect();
    await ping(c);
    c.close();
  });

  it('answers send and sync with UNAVAILABLE (retryable) when no logic node is reachable, and drops acks silently', async () => {
    const c = await connect();
    c.send({ type: 'ack', groupId: 'g1', seq: 3 });
    expect(await c.request({ type: 'send', id: 's1', groupId: 'g1', body: 'hello' })).toMatchObject({ type: 'error', id: 's1', code: 'UNAVAILABLE' });
    expect(await c.request({ type: 'sync', id: 'y1', groupId: 'g1', afterSeq: 0 })).toMatchObject({ type: 'error', id: 'y1', code: 'UNAVAILABLE' });
    await ping(c);
    expect(c.frames.filter((f) => f.type === 'error')).toHaveLength(2);
    c.close();
  });
});

describe('limits', () => {
  it('closes a connection that keeps sending invalid frames with 4500, leaving others alone', async () => {
    const strict = await startTestGate(inject('redisSeeds'), { IMGROUP_MAX_BAD_FRAMES: '3' });
    try {
      const c = await RawClient.connect(strict.wsUrl, await strict.token('bad-client'));
      const other = await RawClient.connect(strict.wsUrl, await strict.token('good-client'));
      for (let i = 0; i < 4; i++) c.send('not json');
      expect((await c.waitClose()).code).toBe(4500);
      expect(c.frames.filter((f) => f.type === 'error')).toHaveLength(3);
      other.send({ type: 'ping' });
      await other.next((f) => f.type === 'pong');
      other.close();
    } finally {
      await strict.close();
    }
  });

  it('answers frames beyond the rate with RATE_LIMITED and drops them', async () => {
    const slow = await startTestGate(inject('redisSeeds'), { IMGROUP_RATE_PER_SEC: '1', IMGROUP_RATE_BURST: '3', IMGROUP_MAX_SYNCS_PER_CONNECTION: '100' });
    try {
      const c = await RawClient.connect(slow.wsUrl, await slow.token('chatty'));
      for (let i = 0; i < 10; i++) c.send({ type: 'sync', id: `q${i}`, groupId: 'g', afterSeq: 0 });
      await c.next(() => c.frames.filter((f) => f.type === 'error').length === 10);
      const limited = c.frames.filter((f) => f.code === 'RATE_LIMITED');
      // 3 from the burst (plus at most one refilled token) pass on to routing (UNAVAILABLE here);
      // the syncs-in-flight limit is lifted so that only the rate refuses.
      expect(limited.length).toBeGreaterThanOrEqual(6);
      expect(limited.length).toBeLessThanOrEqual(7);
      expect(limited.every((f) => /^q\d$/.test(f.id))).toBe(true);
      c.close();
    } finally {
      await slow.close();
    }
  });

  it('refuses handshakes beyond the connection limit with HTTP 503', async () => {
    const small = await startTestGate(inject('redisSeeds'), { IMGROUP_MAX_CONNECTIONS: '1' });
    try {
      const first = await RawClient.connect(small.wsUrl, await small.token('one'));
      expect(await handshakeStatus(`${small.wsUrl}?token=${await small.token('two')}`)).toBe(503);
      first.close();
      await first.waitClose();
    } finally {
      await small.close();
    }
  });

  it('closes a client that does not answer pings with 4000', async () => {
    const fast = await startTestGate(inject('redisSeeds'), { IMGROUP_HEARTBEAT_MS: '200' });
    try {
      const silentWs = new WebSocket(fast.wsUrl, { headers: { authorization: `Bearer ${await fast.token('silent')}` }, autoPong: false });
      const silentClosed = new Promise<number>((resolve) => silentWs.once('close', (code) => resolve(code)));
      expect(await silentClosed).toBe(4000);
    } finally {
      await fast.close();
    }
  });

  it('closes a connection whose token expires with 4501', async () => {
    const gate = await startTestGate(inject('redisSeeds'), { IMGROUP_HEARTBEAT_MS: '500' });
    try {
      const expiring = await connectWithExpiringToken(gate, 'expiring');
      expect((await expiring.waitClose()).code).toBe(4501);
    } finally {
      await gate.close();
    }
  });
});

/**
 * A connection whose token expires a moment after the handshake. `exp` is whole seconds ahead; a
 * machine too busy to finish the handshake before it gets the handshake refused (401), and the
 * next attempt allows twice as long: the connection returned was accepted and expires later, by
 * construction, however slow the machine.
 */
async function connectWithExpiringToken(gate: TestGate, userId: string): Promise<RawClient> {
  for (let ttlSeconds = 2; ; ttlSeconds *= 2) {
    try {
      return await RawClient.connect(gate.wsUrl, await gate.token(userId, ttlSeconds));
    } catch (err) {
      if (ttlSeconds >= 64 || !/HTTP 401/.test((err as Error).message)) throw err;
    }
  }
}

describe('presence', () => {
  it('shows each device via the admin API while connected and removes it after disconnect', async () => {
    const userId = randomId('p');
    const a = await connect(userId);
    const b = await connect(userId);
    const r = await g.admin('GET', `/v1/users/${userId}/presence`);
    expect(r.status).toBe(200);
    expect(r.body.userId).toBe(userId);
    expect(r.body.online).toBe(true);
    expect(new Set(r.body.devices)).toEqual(new Set([
      { gate: g.gate.name, connId: a.frames[0]?.connId },
      { gate: g.gate.name, connId: b.frames[0]?.connId },
    ]));
    a.close();
    b.close();
    await a.waitClose();
    await b.waitClose();
    await eventually('presence gone after both devices disconnected', async () => !(await g.admin('GET', `/v1/users/${userId}/presence`)).body.online);
    expect((await g.admin('GET', `/v1/users/${userId}/presence`)).body).toEqual({ userId, online: false, devices: [] });
  });
});

describe('admin API', () => {
  const cases: Array<[string, string, string, unknown, Record<string, string>, number, string]> = [
    ['no token', 'GET', '/v1/users/u1/presence', undefined, { authorization: '' }, 401, 'UNAUTHORIZED'],
    ['a wrong token', 'GET', '/v1/users/u1/presence', undefined, { authorization: 'Bearer wrong' }, 401, 'UNAUTHORIZED'],
    ['a wrong token of the same length', 'GET', '/v1/groups/g1/members', undefined, { authorization: `Bearer ${'A'.repeat(22)}` }, 401, 'UNAUTHORIZED'],
    ['an unknown route', 'GET', '/v1/groups/g1/owners', undefined, {}, 404, 'NOT_FOUND'],
    ['the root', 'GET', '/', undefined, {}, 404, 'NOT_FOUND'],
    ['a wrong method on members', 'DELETE', '/v1/groups/g1/members', undefined, {}, 405, 'METHOD_NOT_ALLOWED'],
    ['a wrong method on messages', 'GET', '/v1/groups/g1/messages', undefined, {}, 405, 'METHOD_NOT_ALLOWED'],
    ['a bad group id', 'GET', '/v1/groups/a%20b/members', undefined, {}, 400, 'BAD_FRAME'],
    ['a bad user id', 'GET', `/v1/users/${'u'.repeat(129)}/presence`, undefined, {}, 400, 'BAD_FRAME'],
    ['a body that is not JSON', 'PUT', '/v1/groups/g1/members', '{"add":', {}, 400, 'BAD_FRAME'],
    ['an empty change', 'PUT', '/v1/groups/g1/members', { add: [], remove: [] }, {}, 400, 'BAD_FRAME'],
    ['a bad member id', 'PUT', '/v1/groups/g1/members', { add: ['ok', 'not ok'] }, {}, 400, 'BAD_FRAME'],
    ['a body over the admin body limit', 'PUT', '/v1/groups/g1/members', { add: Array.from({ length: 300 }, (_, i) => `user-${i}`) }, {}, 413, 'FRAME_TOO_LARGE'],
    ['a message over the body limit', 'POST', '/v1/groups/g1/messages', { body: 'z'.repeat(1025) }, {}, 413, 'FRAME_TOO_LARGE'],
    ['a message without body', 'POST', '/v1/groups/g1/messages', { from: 'system' }, {}, 400, 'BAD_FRAME'],
    ['a members read with no logic reachable', 'GET', '/v1/groups/g1/members', undefined, {}, 503, 'UNAVAILABLE'],
    ['a members change with no logic reachable', 'PUT', '/v1/groups/g1/members', { add: ['u1'] }, {}, 503, 'UNAVAILABLE'],
    ['a post with no logic reachable', 'POST', '/v1/groups/g1/messages', { body: 'hi' }, {}, 503, 'UNAVAILABLE'],
  ];

  it.each(cases)('answers %s', async (_name, method, path, body, headers, status, code) => {
    const r = await g.admin(method, path, body, headers);
    expect(r.status).toBe(status);
    expect(r.body).toEqual({ error: { code, message: expect.any(String) } });
    if (status === 405) expect(r.headers.get('allow')).toBeTruthy();
  });

  it('answers GET /v1/ws without an upgrade with 426', async () => {
    const r = await fetch(g.wsUrl.replace('ws://', 'http://'));
    expect(r.status).toBe(426);
    await r.body?.cancel();
  });
});

describe('readiness and shutdown', () => {
  it('is not ready without a reachable logic node, though Redis answers', async () => {
    const readiness = async () => Object.fromEntries(await Promise.all(g.gate.readiness.map(async (r) => [r.name, await r.check()] as const)));
    await eventually('Redis readiness check passing', async () => (await readiness()).redis === null);
    const results = Object.entries(await readiness());
    expect(Object.fromEntries(results)).toEqual({ redis: null, logic: expect.stringContaining('no logic node'), draining: null });
  });

  it('closes clients with 1001 on shutdown and removes their presence', async () => {
    const own = await startTestGate(inject('redisSeeds'));
    const userId = randomId('bye');
    const c = await RawClient.connect(own.wsUrl, await own.token(userId));
    expect((await own.admin('GET', `/v1/users/${userId}/presence`)).body.online).toBe(true);
    const closing = own.close();
    expect((await c.waitClose()).code).toBe(1001);
    await closing;
    const r = await g.admin('GET', `/v1/users/${userId}/presence`);
    expect(r.body).toEqual({ userId, online: false, devices: [] });
  });
});

describe('Redis unreachable', () => {
  it('starts anyway, reports not ready, and closes connections it cannot record with 4002', async () => {
    const lonely = await startTestGate(['127.0.0.1:1'], { IMGROUP_REDIS_COMMAND_TIMEOUT_MS: '300' });
    try {
      const checks = Object.fromEntries(await Promise.all(lonely.gate.readiness.map(async (r) => [r.name, await r.check()] as const)));
      expect(checks.redis).toEqual(expect.any(String));
      const ws = new WebSocket(`${lonely.wsUrl}?token=${await lonely.token('nobody-recorded')}`);
      const frames: string[] = [];
      ws.on('message', (d) => frames.push(String(d)));
      const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
      expect(code).toBe(4002);
      expect(frames).toEqual([]);
    } finally {
      await lonely.close();
    }
  });
});
