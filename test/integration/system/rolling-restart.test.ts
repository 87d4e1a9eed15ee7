/**
 * A rolling restart of every gate under 2,000 connected clients (runtime/client, real WebSockets)
 * while members keep sending: each gate in turn gets SIGTERM, drains (not ready, clients closed
 * with 1001 spread over IMGROUP_GATE_DRAIN_WINDOW_MS), exits and is started again on the same
 * ports. The clients reach the gates through a client-side stand-in for a Service: each
 * (re)connect picks one of the gates in rotation, and a gate leaves the rotation when it is told
 * to stop (its readiness fails at once) and rejoins once it is ready again.
 *
 * Asserted: every send that was accepted reaches every member of its group (after reconnect,
 * login replay and gap fill), no request is answered INTERNAL, and the reconnects that the
 * surviving gates log (their own `client connected` timestamps) are spread: no 1-second bucket
 * holds more than SPREAD_FACTOR × (clients of the drained gate / window seconds). If the machine
 * is slow, the drain itself is late and the spread only widens; with a window of 0 every client
 * of a gate comes back within its reconnect jitter (0.5–1 s), which this bound fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ImgroupClient } from '../../../runtime/client/index.js';
import { ImgroupProcess } from '../../../runtime/dev/imgroup-process.js';
import { ErrorCode } from '../../../runtime/protocol/errors.js';
import { eventually } from '../../support/eventually.js';
import { type GateHandle, metricValue, TestSystem } from '../../support/system.js';

const CLIENTS = 2000;
const GROUP_SIZE = 10;
const GROUPS = CLIENTS / GROUP_SIZE;
const SENDERS = 20;
/** The drain window the spread is asserted against. */
const WINDOW_MS = 10_000;
/** What the gates are given: ROLLING_GATE_DRAIN_WINDOW_MS=0 shows the spread assertion failing without a drain. */
const GATE_WINDOW_MS = Number(process.env.ROLLING_GATE_DRAIN_WINDOW_MS ?? WINDOW_MS);
/** Reconnects per second a surviving gate set may see, as a multiple of the even rate. */
const SPREAD_FACTOR = 2;
const CONNECT_BATCH = 100;

let sys: TestSystem;
/** Indices of the gates a new connection may be sent to (ready, not draining). */
const inRotation = new Set<number>();
const clients: Member[] = [];

interface Member {
  userId: string;
  groupId: string;
  client: ImgroupClient;
  received: Set<number>;
}

/** A WebSocket whose URL is ignored: like a Service, it connects to a gate in rotation, chosen at random. */
class ServiceWebSocket extends WebSocket {
  constructor(url: string | URL, protocols?: string | string[], options?: WebSocket.ClientOptions) {
    const up = [...inRotation];
    const gate = sys.gates[up[Math.floor(Math.random() * up.length)] ?? 0] as GateHandle;
    const target = new URL(String(url));
    const chosen = new URL(gate.wsUrl);
    target.host = chosen.host;
    super(target, protocols, options);
  }
}

beforeAll(async () => {
  sys = await new TestSystem({
    redisSeeds: inject('redisSeeds'),
    logic: 2,
    gates: 3,
    heartbeatMs: 5000,
    logLevel: 'debug',
    env: { IMGROUP_GATE_DRAIN_WINDOW_MS: String(GATE_WINDOW_MS) },
  }).start();
  for (let i = 0; i < sys.gates.length; i++) inRotation.add(i);
  const run = Math.random().toString(36).slice(2, 8);
  for (let g = 0; g < GROUPS; g++) {
    const groupId = `roll-${run}-g${g}`;
    const users = Array.from({ length: GROUP_SIZE }, (_, i) => `roll-${run}-u${g}-${i}`);
    await sys.addMembers(groupId, users);
    for (const userId of users) {
      const token = await sys.token(userId);
      const client = new ImgroupClient({ url: sys.gates[0]!.wsUrl, token, WebSocket: ServiceWebSocket, reconnectMaxMs: 5000 });
      const member: Member = { userId, groupId, client, received: new Set() };
      client.setLastSeq(groupId, 0); // a new member: a first message above seq 1 is a gap to fill
      client.on('message', (m) => member.received.add(m.seq));
      client.on('error', () => undefined);
      clients.push(member);
    }
  }
  for (let i = 0; i < clients.length; i += CONNECT_BATCH) {
    await Promise.all(clients.slice(i, i + CONNECT_BATCH).map((m) => m.client.connect()));
  }
}, 300_000);

afterAll(async () => {
  for (const m of clients) m.client.close();
  await sys?.stop();
});

/** `client connected` timestamps (ms) a gate logged at or after `sinceMs`. */
function connectTimes(gate: GateHandle, sinceMs: number): number[] {
  const times: number[] = [];
  for (const line of readFileSync(join(sys.dir, `${gate.name}.log`), 'utf8').split('\n')) {
    if (!line.includes('"client connected"')) continue;
    const entry = JSON.parse(line) as { time: number };
    if (entry.time >= sinceMs) times.push(entry.time);
  }
  return times;
}

async function gateMetric(gate: GateHandle, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await sys.metrics(gate), name, labels);
}

describe('rolling restart of every gate under 2,000 clients', () => {
  it('loses no accepted message and spreads the reconnects over the drain window', async () => {
    await eventually('every client is connected', async () => {
      let n = 0;
      for (const g of sys.gates) n += await gateMetric(g, 'imgroup_gate_connections');
      return n === CLIENTS;
    }, 60_000);

    // Senders: one member of each of SENDERS groups at a time, round robin over the groups.
    const accepted = new Map<string, Set<number>>();
    const sendErrors: string[] = [];
    let sending = true;
    const senders = Array.from({ length: SENDERS }, async (_, s) => {
      for (let i = 0; sending; i++) {
        const g = (s + i * SENDERS) % GROUPS;
        const member = clients[g * GROUP_SIZE + (i % GROUP_SIZE)] as Member;
        try {
          const r = await member.client.send(member.groupId, `m${s}-${i}`);
          let seqs = accepted.get(member.groupId);
          if (!seqs) accepted.set(member.groupId, (seqs = new Set()));
          seqs.add(r.seq);
        } catch (err) {
          sendErrors.push(String((err as Error).message));
        }
      }
    });

    let internalErrors = 0;
    const report: string[] = [];
    for (let i = 0; i < sys.gates.length; i++) {
      const gate = sys.gates[i] as GateHandle;
      const clientsBefore = await gateMetric(gate, 'imgroup_gate_connections');
      const sentBefore = accepted.size === 0 ? 0 : [...accepted.values()].reduce((n, s) => n + s.size, 0);
      await eventually('messages flow before the restart', () => [...accepted.values()].reduce((n, s) => n + s.size, 0) > sentBefore + SENDERS);
      const sigtermMs = Date.now();
      inRotation.delete(i);
      const stopped = gate.process.stop(60_000);
      await eventually('the gate reports draining and not ready', async () => {
        const ready = await fetch(`${gate.opsUrl}/readyz`).then((r) => r.status, () => 0);
        // With a window of 0 the gate may be gone before the first probe.
        return ready === 503 || (GATE_WINDOW_MS === 0 && !gate.process.running);
      });
      await stopped;
      expect(gate.process.exit?.code, `${gate.name} exits 0 after its drain`).toBe(0);
      const others = sys.gates.filter((_, j) => j !== i);
      await eventually(`the ${clientsBefore} clients of ${gate.name} are back on the other gates`, async () => {
        let n = 0;
        for (const g of others) n += await gateMetric(g, 'imgroup_gate_connections');
        return n === CLIENTS;
      }, 120_000);
      for (const g of others) internalErrors += await gateMetric(g, 'imgroup_gate_frame_errors_total', { code: ErrorCode.INTERNAL });
      const times = others.flatMap((g) => connectTimes(g, sigtermMs));
      const buckets = new Map<number, number>();
      for (const t of times) buckets.set(Math.floor((t - sigtermMs) / 1000), (buckets.get(Math.floor((t - sigtermMs) / 1000)) ?? 0) + 1);
      const maxBucket = Math.max(...buckets.values());
      const evenPerSec = clientsBefore / (WINDOW_MS / 1000);
      const spanMs = Math.max(...times) - Math.min(...times);
      report.push(`${gate.name}: ${clientsBefore} clients, ${times.length} reconnects over ${spanMs} ms, max ${maxBucket}/s (even rate ${evenPerSec.toFixed(0)}/s)`);
      expect(times.length, 'every client of the drained gate reconnected to another gate').toBeGreaterThanOrEqual(clientsBefore);
      expect(maxBucket, `reconnects per 1-s bucket after ${gate.name}'s SIGTERM: ${JSON.stringify([...buckets.entries()].sort((a, b) => a[0] - b[0]))}`).toBeLessThanOrEqual(SPREAD_FACTOR * evenPerSec);

      // Start it again on the same ports, as the StatefulSet would; it rejoins the rotation once ready.
      gate.process = new ImgroupProcess({ ...gate.process.opts, name: gate.name });
      await gate.process.waitReady();
      inRotation.add(i);
    }
    sending = false;
    await Promise.all(senders);
    process.stdout.write(`rolling restart (gate drain window ${GATE_WINDOW_MS} ms):\n  ${report.join('\n  ')}\n`);

    expect(sendErrors).toEqual([]);
    expect(internalErrors).toBe(0);
    let total = 0;
    for (const seqs of accepted.values()) total += seqs.size;
    expect(total).toBeGreaterThan(0);
    const missing = (): string[] => {
      const out: string[] = [];
      for (const m of clients) {
        for (const seq of accepted.get(m.groupId) ?? []) if (!m.received.has(seq)) out.push(`${m.userId}#${seq}`);
      }
      return out;
    };
    await eventually('every member has every accepted message of its group', () => missing().length === 0, {
      timeoutMs: 120_000,
      explain: () => `missing: ${missing().slice(0, 20).join(', ')} (${missing().length} in all)`,
    });
    process.stdout.write(`rolling restart: ${total} accepted messages, each delivered to all ${GROUP_SIZE} members of its group\n`);
  }, 600_000);
});
