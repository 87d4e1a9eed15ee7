/**
 * The application client (`imgroup/client`) against real gates and logic nodes: ordered,
 * de-duplicated delivery, cumulative acks reaching the cursor, and reconnect across a gate restart.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster } from 'ioredis';
import WebSocket from 'ws';
import { clusterClient } from '../../support/redis-cluster.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ImgroupClient } from '../../../runtime/client/index.js';
import type { ChatMessage } from '../../../runtime/protocol/client-frames.js';
import { keys } from '../../../runtime/redis/keys.js';
import { TestSystem } from '../../support/system.js';
import { eventually } from '../../support/eventually.js';

const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;
let sys: TestSystem;
let redis: Cluster;
const clients: ImgroupClient[] = [];

beforeAll(async () => {
  sys = await new TestSystem({ redisSeeds: inject('redisSeeds'), logic: 2, gates: 2 }).start();
  redis = clusterClient(inject('redisSeeds'));
});
afterAll(async () => {
  for (const c of clients) c.close();
  await redis?.quit();
  await sys?.stop();
});

function client(userId: string, gate: number): { c: ImgroupClient; received: ChatMessage[]; closes: number[] } {
  const c = new ImgroupClient({ url: sys.gates[gate]!.wsUrl, token: () => sys.token(userId), WebSocket, reconnectMinMs: 50, reconnectMaxMs: 500, ackDelayMs: 20 });
  const received: ChatMessage[] = [];
  const closes: number[] = [];
  c.on('message', (m) => received.push(m));
  c.on('close', (info) => closes.push(info.code));
  clients.push(c);
  return { c, received, closes };
}

describe('imgroup/client against a real cluster', () => {
  it('sends and receives in order, each once, and its acks move the member’s cursor', async () => {
    const [g, alice, bob] = [uid('g'), uid('alice'), uid('bob')];
    await sys.addMembers(g, [alice, bob]);
    const a = client(alice, 0);
    const b = client(bob, 1);
    await Promise.all([a.c.connect(), b.c.connect()]);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => a.c.send(g, `m${i}`)));
    expect(results.map((r) => r.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await eventually('bob has 20 messages', () => b.received.length >= 20);
    expect(b.received.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await eventually('bob’s cursor reaches 20', async () => Number(await redis.hget(keys.groupCursors(g), bob)) === 20);
    await eventually('alice’s cursor reaches 20', async () => Number(await redis.hget(keys.groupCursors(g), alice)) === 20);
  });

  it('reconnects after its gate restarts and gets what was sent meanwhile, in order, once', async () => {
    const [g, alice, bob] = [uid('g'), uid('alice'), uid('bob')];
    await sys.addMembers(g, [alice, bob]);
    const a = client(alice, 0);
    const b = client(bob, 1);
    await Promise.all([a.c.connect(), b.c.connect()]);
    await a.c.send(g, 'before');
    await eventually('bob has the first message', () => b.received.length === 1);

    const restart = sys.restartGate(sys.gates[1]!);
    await eventually('bob saw the gate go away', () => b.closes.includes(1001));
    for (let i = 0; i < 5; i++) await a.c.send(g, `while restarting ${i}`);
    await restart;
    await eventually('bob has all 6 messages', () => b.received.length >= 6);
    expect(b.received.map((m) => [m.seq, m.body])).toEqual([
      [1, 'before'],
      [2, 'while restarting 0'],
      [3, 'while restarting 1'],
      [4, 'while restarting 2'],
      [5, 'while restarting 3'],
      [6, 'while restarting 4'],
    ]);
    await a.c.send(g, 'after');
    await eventually('bob has the 7th message', () => b.received.length >= 7);
    expect(b.received.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
