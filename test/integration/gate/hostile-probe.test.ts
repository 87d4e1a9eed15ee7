/**
 * The probe's cases (issue 12 §4) against a gate, each with its documented answer: hostile tokens
 * at the handshake (HTTP 401, counted by reason), path traversal in the ids of every admin route
 * and of the WebSocket path (400 BAD_FRAME or 404 NOT_FOUND, nothing reaches logic), a ping flood
 * (pongs, then RATE_LIMITED with id null, sends untouched), and slowloris: a request head or an
 * admin body dripped a byte at a time is closed at the handshake deadline, without an answer,
 * however long the drip goes on. Cases covered elsewhere are listed in hostile-clients.test.ts,
 * gate.test.ts and the report of issue 12.
 */
import { request } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { ErrorCode } from '../../../runtime/protocol/errors.js';
import { eventually } from '../../support/eventually.js';
import { hostileTokens } from '../../support/hostile-tokens.js';
import { RawClient } from '../../support/raw-client.js';
import { RawWsSocket } from '../../support/raw-ws-socket.js';
import { randomId, startTestGate, type TestGate } from './gate-harness.js';
import { type Handler, loginOk, ScriptedLogic } from './scripted-logic.js';

const HANDSHAKE_TIMEOUT_MS = 1000;

let logic: ScriptedLogic;
let g: TestGate;

/** A logic that answers everything; the tests count what reaches it. */
const answering: Handler = (req, link) => {
  if (req.op === 'send') return { ok: true, result: { seq: 1, ts: Date.now() } };
  if (req.op === 'members.get') return { ok: true, result: { members: [] } };
  if (req.op === 'members.update') return { ok: true, result: { members: 0 } };
  if (req.op === 'post') return { ok: true, result: { seq: 1, ts: Date.now() } };
  return loginOk(req, link);
};

beforeAll(async () => {
  logic = await ScriptedLogic.start('logic-a', 'test-internal-token');
  logic.handler = answering;
  g = await startTestGate(inject('redisSeeds'), { IMGROUP_HANDSHAKE_TIMEOUT_MS: String(HANDSHAKE_TIMEOUT_MS), IMGROUP_HEARTBEAT_MS: '30000' }, [logic.member]);
  await eventually('the link to logic is up', () => g.gate.linksUp() === 1);
});
afterAll(async () => {
  await g?.close();
  await logic?.kill();
});

/** Status, body and headers of a handshake refused (or 101 when it opened). */
function handshake(url: string, headers: Record<string, string>): Promise<{ status: number; body: string; wwwAuthenticate: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, wwwAuthenticate: res.headers['www-authenticate'] }));
      ws.once('close', () => undefined);
    });
    ws.once('open', () => {
      resolve({ status: 101, body: '', wwwAuthenticate: undefined });
      ws.close();
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

/** An admin request with its path sent exactly as given (fetch would normalise dot segments). */
function rawAdmin(method: string, path: string, body?: unknown, token = g.options.adminToken): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(
      { host: '127.0.0.1', port: g.gate.port, method, path, headers: { authorization: `Bearer ${token}`, ...(text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}) } },
      (res) => {
        let data = '';
        res.on('data', (d) => (data += String(d)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : null }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

describe('hostile tokens at the handshake', () => {
  const cases = hostileTokens('names-only').map(([name, , reason]) => [name, reason] as const);

  it.each(cases)('refuses %s with HTTP 401 (reason %s), opening nothing', async (name, reason) => {
    const make = hostileTokens(g.options.jwtSecret, randomId('probe')).find(([n]) => n === name)![1];
    const before = await g.metric('imgroup_gate_auth_failures_total', { reason });
    const connections = g.gate.connections();
    const r = await handshake(g.wsUrl, { authorization: `Bearer ${await make()}` });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toEqual({ error: { code: ErrorCode.UNAUTHORIZED, message: expect.any(String) } });
    expect(r.wwwAuthenticate).toBe('Bearer');
    expect(await g.metric('imgroup_gate_auth_failures_total', { reason })).toBe(before + 1);
    expect(g.gate.connections()).toBe(connections);
  });
});

describe('path traversal in ids', () => {
  const G = 'g1';
  /** [name, method, path, body, status, code]: every id-taking admin route, every spelling. */
  const cases: Array<[string, string, string, unknown, number, string]> = [
    ['a dot-dot group id', 'GET', '/v1/groups/../members', undefined, 400, 'BAD_FRAME'],
    ['a dot group id', 'GET', '/v1/groups/./members', undefined, 400, 'BAD_FRAME'],
    ['a %2e%2e group id', 'GET', '/v1/groups/%2e%2e/members', undefined, 400, 'BAD_FRAME'],
    ['a %2E%2E group id on PUT', 'PUT', '/v1/groups/%2E%2E/members', { add: ['u1'] }, 400, 'BAD_FRAME'],
    ['a dot-dot group id on POST', 'POST', '/v1/groups/../messages', { body: 'hi' }, 400, 'BAD_FRAME'],
    ['an encoded ../ in a group id', 'GET', '/v1/groups/..%2f..%2fetc/members', undefined, 400, 'BAD_FRAME'],
    ['an encoded slash in a group id', 'POST', '/v1/groups/a%2Fb/messages', { body: 'hi' }, 400, 'BAD_FRAME'],
    ['an encoded backslash in a group id', 'GET', '/v1/groups/..%5c..%5cx/members', undefined, 400, 'BAD_FRAME'],
    ['a raw backslash in a group id', 'GET', '/v1/groups/..\\x/members', undefined, 400, 'BAD_FRAME'],
    ['an encoded NUL in a group id', 'GET', '/v1/groups/g1%00/members', undefined, 400, 'BAD_FRAME'],
    ['a double-encoded dot-dot', 'GET', '/v1/groups/%252e%252e/members', undefined, 400, 'BAD_FRAME'],
    ['an overlong UTF-8 dot-dot', 'GET', '/v1/groups/%c0%ae%c0%ae/members', undefined, 400, 'BAD_FRAME'],
    ['an undecodable escape', 'GET', '/v1/groups/%zz/members', undefined, 400, 'BAD_FRAME'],
    ['a dot-dot user id', 'GET', '/v1/users/../presence', undefined, 400, 'BAD_FRAME'],
    ['an encoded path in a user id', 'GET', '/v1/users/%2e%2e%2f%2e%2e%2fetc%2fpasswd/presence', undefined, 400, 'BAD_FRAME'],
    ['an encoded NUL user id', 'GET', '/v1/users/%00/presence', undefined, 400, 'BAD_FRAME'],
    ['a traversal that adds a segment', 'GET', `/v1/groups/${G}/../x/members`, undefined, 404, 'NOT_FOUND'],
    ['a traversal out of the API', 'GET', '/v1/groups/../../../etc/passwd', undefined, 404, 'NOT_FOUND'],
    ['an empty group id', 'GET', '/v1/groups//members', undefined, 404, 'NOT_FOUND'],
    ['a traversal in a member id of the body', 'PUT', `/v1/groups/${G}/members`, { add: ['../u1'] }, 400, 'BAD_FRAME'],
    ['a dot-dot member id in the body', 'PUT', `/v1/groups/${G}/members`, { add: ['ok'], remove: ['..'] }, 400, 'BAD_FRAME'],
    ['a NUL in a member id of the body', 'PUT', `/v1/groups/${G}/members`, { add: ['u\u0000'] }, 400, 'BAD_FRAME'],
    ['a traversal in the sender of a post', 'POST', `/v1/groups/${G}/messages`, { from: '../system', body: 'hi' }, 400, 'BAD_FRAME'],
    // Bodies: deep nesting, and prototype keys where the fields should be.
    ['a members body nested 100,000 deep', 'PUT', `/v1/groups/${G}/members`, `{"add":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 400, 'BAD_FRAME'],
    ['a members body whose change hides under __proto__', 'PUT', `/v1/groups/${G}/members`, '{"__proto__":{"add":["u1"]}}', 400, 'BAD_FRAME'],
    ['a post whose body hides under __proto__', 'POST', `/v1/groups/${G}/messages`, '{"__proto__":{"body":"hi"}}', 400, 'BAD_FRAME'],
  ];

  it.each(cases)('answers %s with its status and code, and asks logic nothing', async (_name, method, path, body, status, code) => {
    const asked = logic.received.length;
    const r = await rawAdmin(method, path, body);
    expect(r).toEqual({ status, body: { error: { code, message: expect.any(String) } } });
    expect(logic.received.length).toBe(asked);
  });

  it('takes prototype keys in an admin body as plain keys: the change is what the body says, nothing is polluted', async () => {
    const asked = logic.received.length;
    const r = await rawAdmin('PUT', `/v1/groups/${G}/members`, '{"add":["u1"],"__proto__":{"remove":["u2"]},"constructor":{"prototype":{"polluted":1}}}');
    expect(r.status).toBe(200);
    const update = logic.received.slice(asked).find((f) => f.op === 'members.update');
    expect(update).toMatchObject({ groupId: G, add: ['u1'], remove: [] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).remove).toBeUndefined();
  });

  it('serves the same routes with a plain id (the guard is the id, not the route)', async () => {
    expect((await rawAdmin('GET', `/v1/groups/${G}/members`)).status).toBe(200);
    expect((await rawAdmin('GET', '/v1/groups/a..b/members')).status).toBe(200);
  });

  it.each([
    ['/v1/ws/../ws'],
    ['/v1/ws/..'],
    ['/v1/ws%2f..%2fws'],
    ['/v1/../v1/ws'],
  ])('refuses a WebSocket upgrade on %s with 404', async (path) => {
    // Written by hand: a WebSocket library resolves the dot segments before sending.
    const refused = await RawWsSocket.connect(g.gate.port, path, { authorization: `Bearer ${await g.token(randomId('u'))}` }).then(
      (s) => (s.destroy(), 'opened'),
      (err: Error) => err.message,
    );
    expect(refused).toBe('upgrade refused: HTTP 404');
  });
});

describe('a ping flood', () => {
  it('answers pings from their own bucket: pongs, then RATE_LIMITED with id null; the connection and its sends stay', async () => {
    const c = await RawClient.connect(g.wsUrl, await g.token(randomId('u')));
    const flood = 2000;
    // The flood and, right behind it in the same write, a send: the pings must not have used its tokens.
    for (let i = 0; i < flood; i++) c.send({ type: 'ping' });
    c.send({ type: 'send', id: 'after-pings', groupId: 'g1', body: 'still here' });
    const pongs = () => c.frames.filter((f) => f.type === 'pong').length;
    const limited = () => c.frames.filter((f) => f.type === 'error' && f.code === ErrorCode.RATE_LIMITED && f.id === null).length;
    await c.next(() => pongs() + limited() === flood);
    // The control bucket starts full (IMGROUP_CONTROL_RATE_BURST, default 400): at least that many
    // pongs, and an instant flood of 2000 is cut.
    expect(pongs()).toBeGreaterThanOrEqual(400);
    expect(limited()).toBeGreaterThan(0);
    expect(c.frames.filter((f) => f.type === 'error' && f.id === null && f.code !== ErrorCode.RATE_LIMITED)).toEqual([]);
    // The send is answered as sends are. UNAVAILABLE is the documented retryable answer when the
    // link to logic is momentarily down — in this process the gate, its scripted logic and the
    // client share one event loop, which a busy machine can starve past the link's ping — and is
    // retried with the same id, as the typed client does.
    let answer = await c.next((f) => f.id === 'after-pings');
    for (let retry = 0; answer.code === ErrorCode.UNAVAILABLE && retry < 10; retry++) {
      await eventually('the link to logic is up again', () => g.gate.linksUp() === 1);
      c.frames.splice(c.frames.indexOf(answer), 1);
      answer = await c.request({ type: 'send', id: 'after-pings', groupId: 'g1', body: 'still here' });
    }
    expect(answer, JSON.stringify(answer)).toMatchObject({ type: 'sent', id: 'after-pings' });
    expect(c.closed).toBeNull();
    c.close();
  });
});

describe('slowloris', () => {
  /**
   * Write `head` and then `drip` one byte at a time, every few ms, until the gate closes the
   * connection. Returns what the gate answered and how many bytes of the drip it took; the bound
   * on bytes only decides how long a broken gate takes to fail the test.
   */
  function dripUntilClosed(head: string, drip: string): Promise<{ received: string; dripped: number }> {
    return new Promise((resolve, reject) => {
      const socket: Socket = createConnection({ host: '127.0.0.1', port: g.gate.port });
      let received = '';
      let dripped = 0;
      let timer: NodeJS.Timeout | null = null;
      socket.on('data', (d) => (received += String(d)));
      socket.on('error', () => undefined);
      socket.once('close', () => {
        if (timer) clearInterval(timer);
        resolve({ received, dripped });
      });
      socket.once('connect', () => {
        socket.write(head);
        timer = setInterval(() => {
          if (dripped >= drip.length) {
            clearInterval(timer!);
            socket.destroy();
            reject(new Error(`still open after dripping all ${drip.length} bytes: the gate let a slow request hold its connection`));
            return;
          }
          socket.write(drip[dripped++]!);
        }, 20);
      });
    });
  }

  it('closes a request head dripped a byte at a time at the handshake deadline, answering nothing', async () => {
    const before = await g.metric('imgroup_gate_handshake_timeouts_total');
    // 20 ms a byte: these headers would last 20 s, far beyond the 1 s deadline, and never end.
    const r = await dripUntilClosed('GET /v1/ws HTTP/1.1\r\nHost: x\r\n', `X-Slow: ${'a'.repeat(1000)}`);
    expect(r.received).toBe('');
    expect(r.dripped).toBeGreaterThan(0);
    expect(await g.metric('imgroup_gate_handshake_timeouts_total')).toBe(before + 1);
  });

  it('closes an admin request whose body is dripped a byte at a time at the handshake deadline, answering nothing', async () => {
    const before = await g.metric('imgroup_gate_handshake_timeouts_total');
    const asked = logic.received.length;
    // 20 ms a byte: about 20 s of body, far beyond the 1 s deadline.
    const body = JSON.stringify({ add: Array.from({ length: 110 }, (_, i) => `user-${i}`) });
    const head = `PUT /v1/groups/g1/members HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${g.options.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const r = await dripUntilClosed(head, body);
    expect(r.received).toBe('');
    expect(r.dripped).toBeLessThan(body.length);
    expect(await g.metric('imgroup_gate_handshake_timeouts_total')).toBe(before + 1);
    expect(logic.received.length).toBe(asked);
  });

  it('closes a keep-alive connection whose second request drips its body, after answering the first', async () => {
    const before = await g.metric('imgroup_gate_handshake_timeouts_total');
    const body = JSON.stringify({ add: Array.from({ length: 110 }, (_, i) => `user-${i}`) });
    const auth = `Authorization: Bearer ${g.options.adminToken}\r\n`;
    const first = `GET /v1/groups/g1/members HTTP/1.1\r\nHost: x\r\n${auth}\r\n`;
    const second = `PUT /v1/groups/g1/members HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const r = await dripUntilClosed(first + second, body);
    expect(r.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.received.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(r.dripped).toBeLessThan(body.length);
    expect(await g.metric('imgroup_gate_handshake_timeouts_total')).toBe(before + 1);
  });

  it('still serves an admin request whose whole body arrives in time', async () => {
    const r = await rawAdmin('PUT', '/v1/groups/g1/members', { add: ['u1'] });
    expect(r.status).toBe(200);
  });
});
