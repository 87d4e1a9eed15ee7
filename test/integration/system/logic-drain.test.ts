/**
 * A logic node told to stop (SIGTERM) under sends: it announces `draining` on its gate links,
 * finishes what it has in flight, refuses the rest, and exits; the gates route around it at once
 * and re-send what it refuses to the new owner. Clients see no error at all: every send is
 * accepted (no UNAVAILABLE, no INTERNAL from any gate) and every accepted message reaches every
 * member of its group. Without the notice the gates would pass the node's refusals on to the
 * clients as UNAVAILABLE.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ImgroupClient } from '../../../runtime/client/index.js';
import { ErrorCode } from '../../../runtime/protocol/errors.js';
import { eventually } from '../../support/eventually.js';
import { type LogicHandle, metricValue, TestSystem } from '../../support/system.js';

const GROUPS = 8;
const GROUP_SIZE = 4;

let sys: TestSystem;
const members: Array<{ userId: string; groupId: string; client: ImgroupClient; received: Set<number> }> = [];

beforeAll(async () => {
  sys = await new TestSystem({ redisSeeds: inject('redisSeeds'), logic: 2, gates: 2 }).start();
  const run = Math.random().toString(36).slice(2, 8);
  for (let g = 0; g < GROUPS; g++) {
    const groupId = `ld-${run}-g${g}`;
    const users = Array.from({ length: GROUP_SIZE }, (_, i) => `ld-${run}-u${g}-${i}`);
    await sys.addMembers(groupId, users);
    for (const [i, userId] of users.entries()) {
      const client = new ImgroupClient({ url: sys.gates[i % 2]!.wsUrl, token: await sys.token(userId), WebSocket, reconnectMaxMs: 2000 });
      const m = { userId, groupId, client, received: new Set<number>() };
      client.on('message', (msg) => m.received.add(msg.seq));
      client.on('error', () => undefined);
      members.push(m);
    }
  }
  await Promise.all(members.map((m) => m.client.connect()));
});

afterAll(async () => {
  for (const m of members) m.client.close();
  await sys?.stop();
});

describe('logic drain', () => {
  it('a SIGTERMed logic node hands its work to the other node: no accepted message lost, no error to any client', async () => {
    const logic0 = sys.logic[0] as LogicHandle;
    const accepted = new Map<string, Set<number>>();
    const errors: string[] = [];
    let sending = true;
    let sent = 0;
    const senders = members
      .filter((_, i) => i % GROUP_SIZE === 0)
      .map(async (m, s) => {
        for (let i = 0; sending; i++) {
          try {
            const r = await m.client.send(m.groupId, `s${s}-${i}`);
            sent++;
            let seqs = accepted.get(m.groupId);
            if (!seqs) accepted.set(m.groupId, (seqs = new Set()));
            seqs.add(r.seq);
          } catch (err) {
            errors.push((err as Error).message);
          }
        }
      });
    await eventually('sends flow through both logic nodes', async () => sent > 100 && metricValue(await sys.metrics(logic0), 'imgroup_logic_requests_total', { op: 'send', code: 'ok' }) > 10);

    const stopped = logic0.process.stop(30_000);
    const atSigterm = sent;
    await stopped;
    expect(logic0.process.exit?.code, 'the logic node exits 0 after its drain').toBe(0);
    await eventually('sends go on through the other node', () => sent > atSigterm + 100);
    sending = false;
    await Promise.all(senders);

    expect(errors).toEqual([]);
    for (const g of sys.gates) {
      const m = await sys.metrics(g);
      expect(metricValue(m, 'imgroup_gate_frame_errors_total', { code: ErrorCode.UNAVAILABLE }), `${g.name} answered no UNAVAILABLE`).toBe(0);
      expect(metricValue(m, 'imgroup_gate_frame_errors_total', { code: ErrorCode.INTERNAL }), `${g.name} answered no INTERNAL`).toBe(0);
    }
    const missing = (): string[] =>
      members.flatMap((m) => [...(accepted.get(m.groupId) ?? [])].filter((seq) => !m.received.has(seq)).map((seq) => `${m.userId}#${seq}`));
    await eventually('every member has every accepted message', () => missing().length === 0, { timeoutMs: 60_000, explain: () => missing().slice(0, 20).join(', ') });
    const retries = (await Promise.all(sys.gates.map(async (g) => metricValue(await sys.metrics(g), 'imgroup_gate_route_retries_total')))).reduce((a, b) => a + b, 0);
    process.stdout.write(`logic drain: ${sent} sends accepted (${atSigterm} before SIGTERM), ${retries} re-sent by gates to the new owner\n`);
  });
});
