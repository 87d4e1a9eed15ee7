/**
 * A gate against clients that misbehave on purpose, each cheaply and at will: TCP connections
 * that never finish a request, floods of bad tokens and admin 401s, one user opening more and
 * more devices, acks and pings in bulk. Each costs the gate a bounded amount (closed sockets, a
 * few log lines, a bucket of its own) and is counted in a metric, while well-behaved clients
 * beside them keep working.
 */
import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode, ErrorCode } from '../../../runtime/protocol/errors.js';
import { startOpsServer } from '../../../runtime/ops/ops-server.js';
import { eventually } from '../../support/eventually.js';
import { captureLog, type CapturedLog } from '../../support/log-capture.js';
import { RawClient } from '../../support/raw-client.js';
import { randomId, startTestGate, type TestGate } from './gate-harness.js';
import { type Handler, loginOk, ScriptedLogic } from './scripted-logic.js';
import { Registry } from 'prom-client';

const HANDSHAKE_TIMEOUT_MS = 2000;
const MAX_PER_USER = 3;

let logic: ScriptedLogic;
let g: TestGate;
let captured: CapturedLog;

/** A logic that stores every send (seq per group) and echoes it to the sender, as fan-out does. */
const echoing: Handler = (req, link) => {
  if (req.op !== 'send') return loginOk(req, link);
  const seq = (seqs.get(req.groupId) ?? 0) + 1;
  seqs.set(req.groupId, seq);
  const ts = Date.now();
  logic.push({ t: 'deliver', groupId: req.groupId, msgs: [{ groupId: req.groupId, seq, from: req.userId, body: req.body, ts }], users: [req.userId], path: 'online' }, link);
  return { ok: true, result: { seq, ts } };
};
const seqs = new Map<string, number>();

beforeAll(async () => {
  logic = await ScriptedLogic.start('logic-a', 'test-internal-token');
  logic.handler = echoing;
  captured = captureLog('info');
  g = await startTestGate(
    inject('redisSeeds'),
    {
      IMGROUP_HANDSHAKE_TIMEOUT_MS: String(HANDSHAKE_TIMEOUT_MS),
      // Long enough that no summary line falls inside a test: what a flood costs is its first line.
      IMGROUP_REFUSAL_LOG_INTERVAL_MS: '600000',
      IMGROUP_MAX_CONNECTIONS_PER_USER: String(MAX_PER_USER),
      IMGROUP_HEARTBEAT_MS: '30000',
    },
    [logic.member],
    { log: captured.log },
  );
  await eventually('the link to logic is up', () => g.gate.linksUp() === 1);
});
afterAll(async () => {
  await g?.close();
  await logic?.kill();
});

/** A raw TCP connection to `port` that writes `bytes` (maybe nothing) and then stays silent. */
function silentSocket(port: number, bytes = ''): Promise<{ socket: Socket; closed: Promise<{ received: string }> }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let received = '';
    socket.on('data', (d) => (received += String(d)));
    const closed = new Promise<{ received: string }>((r) => socket.once('close', () => r({ received })));
    socket.once('error', reject);
    socket.once('connect', () => {
      if (bytes.length > 0) socket.write(bytes);
      resolve({ socket, closed });
    });
  });
}

/** The gate's refusal lines of one kind. */
const refusalLines = (kind: string) => captured.lines().filter((l) => l.component === 'refusals' && l.kind === kind);

describe('connections that never finish a request', () => {
  it('closes 50 silent TCP connections after the handshake timeout and counts them', async () => {
    const before = await g.metric('imgroup_gate_handshake_timeouts_total');
    const sockets = await Promise.all(Array.from({ length: 50 }, () => silentSocket(g.gate.port)));
    const results = await Promise.all(sockets.map((s) => s.closed));
    expect(results.every((r) => r.received === '')).toBe(true);
    expect(await g.metric('imgroup_gate_handshake_timeouts_total')).toBe(before + 50);
    expect(refusalLines('handshake_timeout').length).toBe(1);
  });

  it('closes connections that send half a request head and stop (upgrade or admin)', async () => {
    const before = await g.metric('imgroup_gate_handshake_timeouts_total');
    const partial = await Promise.all([
      silentSocket(g.gate.port, 'GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'),
      silentSocket(g.gate.port, 'GET /v1/users/u1/presence HTTP/1.1\r\n'),
    ]);
    await Promise.all(partial.map((s) => s.closed));
    expect(await g.metric('imgroup_gate_handshake_timeouts_total')).toBe(before + 2);
  });

  it('leaves open WebSockets alone: a client connected before a silent socket outlives it', async () => {
    const client = await RawClient.connect(g.wsUrl, await g.token(randomId('u')));
    const silent = await silentSocket(g.gate.port);
    await silent.closed;
    client.send({ type: 'ping' });
    await client.next((f) => f.type === 'pong');
    expect(client.closed).toBeNull();
    client.close();
  });

  it('closes silent connections on the ops port too', async () => {
    const ops = await startOpsServer({ host: '127.0.0.1', port: 0, registry: new Registry(), readiness: [], handshakeTimeoutMs: 200 });
    try {
      const silent = await silentSocket(ops.port);
      expect(await silent.closed).toEqual({ received: '' });
      // A WebSocket upgrade is not served there: it is closed as well, not kept forever.
      const upgrade = await silentSocket(ops.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      await upgrade.closed;
      const res = await fetch(`http://127.0.0.1:${ops.port}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      await ops.close();
    }
  });
});

describe('floods of refused attempts', () => {
  it('logs 200 handshakes with a bad token once, and counts all 200', async () => {
    const before = await g.metric('imgroup_gate_auth_failures_total', { reason: 'invalid' });
    for (let i = 0; i < 200; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${g.wsUrl}?token=garbage-${i}`);
        ws.once('unexpected-response', (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.once('open', () => reject(new Error('a bad token was accepted')));
        ws.once('error', () => undefined);
      });
      expect(status).toBe(401);
    }
    expect(await g.metric('imgroup_gate_auth_failures_total', { reason: 'invalid' })).toBe(before + 200);
    expect(refusalLines('auth_invalid')).toHaveLength(1);
  });

  it('logs 200 admin requests with a wrong token once, and counts all 200', async () => {
    const before = await g.metric('imgroup_gate_admin_requests_total', { route: 'presence', status: '401' });
    for (let i = 0; i < 200; i++) {
      const r = await g.admin('GET', '/v1/users/u1/presence', undefined, { authorization: `Bearer wrong-${i}` });
      expect(r.status).toBe(401);
    }
    expect(await g.metric('imgroup_gate_admin_requests_total', { route: 'presence', status: '401' })).toBe(before + 200);
    expect(refusalLines('admin_unauthorized')).toHaveLength(1);
  });
});

describe('connections per user', () => {
  it(`closes the connection beyond ${MAX_PER_USER} of one user with ${CloseCode.TOO_MANY_CONNECTIONS}; the others keep working`, async () => {
    const user = randomId('u');
    const token = await g.token(user);
    const devices: RawClient[] = [];
    for (let i = 0; i < MAX_PER_USER; i++) devices.push(await RawClient.connect(g.wsUrl, token));
    const before = await g.metric('imgroup_gate_user_limit_closes_total');

    const extra = new WebSocket(`${g.wsUrl}?token=${token}`);
    const frames: string[] = [];
    extra.on('message', (d) => frames.push(String(d)));
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => extra.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    expect(closed.code).toBe(CloseCode.TOO_MANY_CONNECTIONS);
    expect(closed.reason).toContain(String(MAX_PER_USER));
    expect(frames).toEqual([]); // no welcome: the connection never counted
    expect(await g.metric('imgroup_gate_user_limit_closes_total')).toBe(before + 1);

    for (const d of devices) {
      const pongs = d.frames.filter((f) => f.type === 'pong').length;
      d.send({ type: 'ping' });
      await d.next(() => d.frames.filter((f) => f.type === 'pong').length > pongs);
      expect(d.closed).toBeNull();
    }
    // Another user is not affected, and a freed slot can be taken again.
    const other = await RawClient.connect(g.wsUrl, await g.token(randomId('u')));
    other.close();
    const connections = g.gate.connections();
    devices[0]!.close();
    await eventually('the closed device is gone', () => g.gate.connections() <= connections - 1);
    devices[0] = await RawClient.connect(g.wsUrl, token);
    for (const d of devices) d.close();
  });
});

describe('acks and pings', () => {
  it('never starve sends: sending at half the send rate, acking every echo and pinging each time, gets no RATE_LIMITED', async () => {
    // Defaults: 50 sends/s with a burst of 100. 25 sends + 25 acks + 25 pings per second would
    // empty a shared bucket after 4 s; 150 messages take 6 s.
    const user = randomId('u');
    const groupId = randomId('g');
    const c = await RawClient.connect(g.wsUrl, await g.token(user));
    const total = 150;
    let acked = 0;
    const ackEchoes = () => {
      for (const m of c.messages(groupId).slice(acked)) {
        c.send({ type: 'ack', groupId, seq: m.seq });
        acked++;
      }
    };
    for (let i = 0; i < total; i++) {
      c.send({ type: 'send', id: `m${i}`, groupId, body: `hello ${i}` });
      c.send({ type: 'ping' });
      ackEchoes();
      await new Promise((r) => setTimeout(r, 40));
    }
    await c.waitMessages(groupId, total, 30_000);
    ackEchoes();
    await c.next(() => c.frames.filter((f) => f.type === 'sent').length + c.frames.filter((f) => f.type === 'error').length >= total, 30_000);
    const limited = c.frames.filter((f) => f.type === 'error' && f.code === ErrorCode.RATE_LIMITED);
    expect(limited).toEqual([]);
    expect(c.frames.filter((f) => f.type === 'sent')).toHaveLength(total);
    await logic.until(() => logic.received.filter((f) => f.t === 'ack' && f.userId === user).length === total);
    c.close();
  });

  it('limits an ack flood in its own bucket, without touching sends', async () => {
    const user = randomId('u');
    const groupId = randomId('g');
    const c = await RawClient.connect(g.wsUrl, await g.token(user));
    const flood = 2000;
    for (let i = 1; i <= flood; i++) c.send({ type: 'ack', groupId, seq: i });
    for (let i = 0; i < 10; i++) c.send({ type: 'send', id: `s${i}`, groupId, body: 'after the flood' });
    await c.next(() => c.frames.filter((f) => f.type === 'sent').length === 10, 30_000);
    expect(c.frames.filter((f) => f.type === 'error' && f.id !== null)).toEqual([]);
    const limited = c.frames.filter((f) => f.type === 'error' && f.code === ErrorCode.RATE_LIMITED && f.id === null).length;
    const forwarded = logic.received.filter((f) => f.t === 'ack' && f.userId === user).length;
    expect(limited + forwarded).toBe(flood);
    // The default ack bucket holds 400 and refills at 200/s: an instant flood is cut.
    expect(limited).toBeGreaterThan(0);
    expect(forwarded).toBeGreaterThan(0);
    c.close();
  });
});

describe('protocol edges', () => {
  it('answers a wrong admin method with 405 METHOD_NOT_ALLOWED and the allowed methods', async () => {
    const r = await g.admin('DELETE', '/v1/groups/g1/members');
    expect(r.status).toBe(405);
    expect(r.body).toEqual({ error: { code: 'METHOD_NOT_ALLOWED', message: expect.stringContaining('GET or PUT') } });
    expect(r.headers.get('allow')).toBe('GET, PUT');
  });

  it(`closes a connection that sends a text frame of invalid UTF-8 with ${CloseCode.INVALID_PAYLOAD}`, async () => {
    const c = await RawClient.connect(g.wsUrl, await g.token(randomId('u')));
    c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await c.waitClose()).code).toBe(CloseCode.INVALID_PAYLOAD);
  });
});
