/**
 * The drain of a gate told to stop (gate.close(), what SIGTERM calls), against a scripted logic
 * node that holds answers back and the real test Redis Cluster: the gate turns not ready at once,
 * refuses new WebSocket upgrades with HTTP 503 (JSON code UNAVAILABLE, Retry-After), closes its
 * clients with 1001 one after the other over the window, and a client with a request in flight
 * gets its answer before its 1001.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RawClient } from '../../support/raw-client.js';
import { eventually } from '../../support/eventually.js';
import { randomId, startTestGate, type TestGate } from './gate-harness.js';
import { connectReady, loginOk, ScriptedLogic } from './scripted-logic.js';

const TOKEN = 'test-internal-token';
const WINDOW_MS = 1500;

describe('gate drain', () => {
  let logic: ScriptedLogic;
  let g: TestGate;

  beforeAll(async () => {
    logic = await ScriptedLogic.start('logic-a', TOKEN);
    logic.handler = loginOk;
    g = await startTestGate(inject('redisSeeds'), { IMGROUP_GATE_DRAIN_WINDOW_MS: String(WINDOW_MS), IMGROUP_REQUEST_TIMEOUT_MS: '20000', IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS: '60000' }, [logic.member]);
    await eventually('the link is up', () => g.gate.linksUp() === 1);
  });
  afterAll(async () => {
    await g?.close();
    await logic?.kill();
  });

  it('turns not ready, refuses upgrades with 503, answers requests in flight before their 1001, and closes clients one by one', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => connectReady(g, logic, randomId('u'))));
    // The send of the first client is held by logic until the drain has begun.
    let release: (() => void) | null = null;
    const held = new Promise<void>((r) => (release = r));
    logic.handler = async (req) => {
      if (req.op === 'login') return { ok: true, result: { groups: 0, delivered: 0 } };
      if (req.op === 'send') {
        await held;
        return { ok: true, result: { seq: 7, ts: 1 } };
      }
      return 'hang';
    };
    const busy = clients[0] as RawClient;
    busy.send({ type: 'send', id: 'held-1', groupId: 'g1', body: 'hello' });
    await logic.until(() => logic.requests('send').length === 1);

    const closeTimes = new Map<RawClient, number>();
    for (const c of clients) void c.waitClose(60_000).then(() => closeTimes.set(c, performance.now()));
    const closed = g.gate.close();

    expect(await g.metric('imgroup_gate_draining')).toBe(1);
    const readiness = await Promise.all(g.gate.readiness.map(async (r) => [r.name, await r.check()] as const));
    expect(readiness.find(([name]) => name === 'draining')?.[1]).toMatch(/draining/);

    const refused = await RawClient.connect(g.wsUrl, await g.token(randomId('late'))).then(
      () => 'accepted',
      (err: Error) => err.message,
    );
    expect(refused).toBe('handshake refused: HTTP 503');

    // The others are closed over the window; the busy one waits for its answer.
    await eventually('the four idle clients are closed', () => clients.slice(1).every((c) => c.closed !== null), 30_000);
    expect(busy.closed).toBeNull();
    for (const c of clients.slice(1)) expect(c.closed?.code).toBe(1001);
    const idleCloses = clients.slice(1).map((c) => closeTimes.get(c) as number).sort((a, b) => a - b);
    process.stdout.write(`drain: idle closes spread over ${Math.round((idleCloses.at(-1) as number) - (idleCloses[0] as number))} ms (window ${WINDOW_MS} ms, 5 clients)\n`);

    (release as unknown as () => void)();
    const closeInfo = await busy.waitClose(30_000);
    expect(closeInfo.code).toBe(1001);
    const sent = busy.frames.findIndex((f) => f.type === 'sent' && f.id === 'held-1');
    expect(sent, 'the answer reached the client before its close').toBeGreaterThanOrEqual(0);
    await closed;
    // Whether the busy client's turn came before or after its answer was released depends on the
    // machine's speed: it is counted under one of the two, the idle ones under `none`.
    const waited = await g.metric('imgroup_gate_connections_drained_total', { wait: 'requests' });
    expect(waited).toBeLessThanOrEqual(1);
    expect(waited + (await g.metric('imgroup_gate_connections_drained_total', { wait: 'none' }))).toBe(5);
  });
});
