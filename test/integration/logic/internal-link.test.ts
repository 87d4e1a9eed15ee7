/**
 * The internal endpoint of a real logic node as a gate meets it: the upgrade guards, frames
 * that are malformed, oversized or binary, the in-flight bound, and graceful close.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GATE_BOOT_HEADER, GATE_HEADER, INTERNAL_PATH } from '../../../runtime/protocol/internal-frames.js';
import { GateDriver, HandshakeRefused, LinkClosed } from './gate-driver.js';
import { startTestLogic, type TestLogic, uid } from './logic-fixture.js';

let logic: TestLogic;

beforeAll(async () => {
  logic = await startTestLogic(inject('redisSeeds'), { IMGROUP_LOGIC_MAX_PAYLOAD_BYTES: String(64 * 1024) });
});
afterAll(async () => {
  await logic?.close();
});

async function refusal(headers: Record<string, string>): Promise<number> {
  try {
    const d = await GateDriver.connect(logic.url, { token: logic.token, headers });
    d.close();
    return 101;
  } catch (err) {
    if (err instanceof HandshakeRefused) return err.status;
    throw err;
  }
}

describe('upgrade guards', () => {
  it.each([
    ['a wrong token', 401, { authorization: 'Bearer not-the-token' }],
    ['a token of another length', 401, { authorization: 'Bearer x' }],
    ['no Bearer scheme', 401, { authorization: 'Basic abc' }],
    ['no gate name', 401, { [GATE_HEADER]: '' }],
    ['a malformed gate name', 401, { [GATE_HEADER]: 'gate/../x' }],
    ['no boot id', 401, { [GATE_BOOT_HEADER]: '' }],
  ])('answers %s with HTTP %i and opens nothing', async (_name, status, headers) => {
    expect(await refusal(headers as Record<string, string>)).toBe(status);
  });

  it('answers other paths with 404 and plain HTTP requests with 426', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`http://127.0.0.1:${logic.node.port}/v1/internal`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(426);
    const ws = await import('ws');
    const socket = new ws.WebSocket(`${logic.url}/v1/other`, { headers: { authorization: `Bearer ${logic.token}`, [GATE_HEADER]: 'g', [GATE_BOOT_HEADER]: 'b' } });
    const code = await new Promise<number>((resolve) => {
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.once('open', () => resolve(101));
      socket.once('error', () => resolve(-1));
    });
    expect(code).toBe(404);
  });

  it('accepts the right token and headers', async () => {
    const d = await logic.driver();
    expect(await d.call({ op: 'members.get', groupId: uid('g') })).toEqual({ members: [] });
  });
});

describe('bad frames', () => {
  it('counts malformed frames, answers those with a rid BAD_FRAME, and keeps serving the link', async () => {
    const d = await logic.driver();
    const before = await logic.metric('imgroup_logic_internal_frame_errors_total');
    d.sendRaw('not json');
    d.sendRaw('[1,2,3]');
    d.sendRaw(JSON.stringify({ t: 'req', rid: 77, op: 'send', userId: 'u' }));
    d.sendRaw(JSON.stringify({ t: 'req', rid: 78, op: 'teleport' }));
    d.sendRaw(JSON.stringify({ t: 'ack', userId: 'u', groupId: 'g', seq: -1 }));
    d.sendRaw(JSON.stringify({ t: 'req', rid: -5, op: 'members.get', groupId: 'g' }));
    d.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const r77 = await d.next((f) => f.t === 'res' && f.rid === 77);
    const r78 = await d.next((f) => f.t === 'res' && f.rid === 78);
    expect(r77).toMatchObject({ ok: false, code: 'BAD_FRAME' });
    expect(r78).toMatchObject({ ok: false, code: 'BAD_FRAME' });
    // The link still works, and the errors were all counted.
    expect(await d.call({ op: 'members.get', groupId: uid('g') })).toEqual({ members: [] });
    expect(await logic.metric('imgroup_logic_internal_frame_errors_total')).toBe(before + 7);
    expect(d.frames.filter((f) => f.t === 'res')).toHaveLength(3);
    expect(d.closed).toBeNull();
  });

  it('closes a link with 1009 on a frame above the payload bound, and serves a new link', async () => {
    const d = await logic.driver();
    d.sendRaw(JSON.stringify({ t: 'req', rid: 1, op: 'members.get', groupId: 'x'.repeat(70 * 1024) }));
    expect((await d.waitClose()).code).toBe(1009);
    const again = await logic.driver();
    expect(await again.call({ op: 'members.get', groupId: uid('g') })).toEqual({ members: [] });
  });
});

describe('in-flight bound', () => {
  it('answers requests beyond the per-link bound UNAVAILABLE, each request exactly once', async () => {
    const small = await startTestLogic(inject('redisSeeds'), { IMGROUP_LOGIC_MAX_IN_FLIGHT: '2' });
    try {
      const d = await small.driver();
      const g = uid('g');
      const results = await Promise.all(Array.from({ length: 20 }, () => d.request({ op: 'members.get', groupId: g })));
      const unavailable = results.filter((r) => !r.ok && r.code === 'UNAVAILABLE');
      expect(unavailable.length).toBeGreaterThan(0);
      expect(results.filter((r) => r.ok).length).toBeGreaterThanOrEqual(2);
      expect(d.frames.filter((f) => f.t === 'res')).toHaveLength(20);
    } finally {
      await small.close();
    }
  });
});

describe('close', () => {
  it('answers every request it took on before closing links with 1001', async () => {
    const other = await startTestLogic(inject('redisSeeds'));
    const d = await other.driver();
    const [alice] = [uid('alice')];
    const g = uid('g');
    await d.call({ op: 'members.update', groupId: g, add: [alice], remove: [] });
    const pending = Array.from({ length: 50 }, (_, i) =>
      d.request({ op: 'send', userId: alice, groupId: g, clientId: `c${i}`, body: 'x' }).catch((err: unknown) => {
        if (err instanceof LinkClosed) return null;
        throw err;
      }),
    );
    await pending[0];
    const closing = other.node.close();
    const results = await Promise.all(pending);
    await closing;
    expect((await d.waitClose()).code).toBe(1001);
    await other.close();
    // Answered: stored (ok) or refused as retryable. Unanswered (sent after the close began): not stored.
    const answered = results.filter((r) => r !== null);
    expect(answered.every((r) => r.ok || r.code === 'UNAVAILABLE')).toBe(true);
    const stored = answered.filter((r) => r.ok).length;
    expect(stored).toBeGreaterThanOrEqual(1);
    expect(await logic.store.call('xlen', `im:{g:${g}}:log`)).toBe(stored);
  });

  it('announces draining on every link before it refuses a single request', async () => {
    const other = await startTestLogic(inject('redisSeeds'));
    const d = await other.driver();
    const g = uid('g');
    // Requests keep arriving while the node closes: some are taken on, the rest refused.
    let sending = true;
    const results: Promise<unknown>[] = [];
    const pump = (async () => {
      for (let i = 0; sending && i < 2000; i++) {
        results.push(d.request({ op: 'members.get', groupId: g }).catch(() => null));
        await new Promise((r) => setImmediate(r));
      }
    })();
    await d.next((f) => f.t === 'res');
    const closing = other.node.close();
    await d.waitClose();
    sending = false;
    await pump;
    await Promise.all(results);
    await closing;
    await other.close();
    const draining = d.frames.findIndex((f) => f.t === 'draining');
    const firstRefusal = d.frames.findIndex((f) => f.t === 'res' && !f.ok && f.code === 'UNAVAILABLE');
    expect(draining, 'the draining notice arrived').toBeGreaterThanOrEqual(0);
    if (firstRefusal >= 0) expect(draining).toBeLessThan(firstRefusal);
    expect(d.undecodable).toEqual([]);
  });
});
