/**
 * The `--baseline` broadcast servers, several in this process on port 0, linked as `imgroup
 * bench` links its server processes: a send reaching any of them is numbered by its group's
 * sequencer and delivered with the same seqs to the members on every server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type BroadcastServer, startBroadcastServer } from '../../../runtime/bench/broadcast-server.js';
import { eventually } from '../../support/eventually.js';

const HOST = '127.0.0.1';
const SERVERS = 3;
// g0's sequencer is server 0, g1's is server 1 (position modulo the server count).
const GROUPS = { g0: ['a', 'b', 'c'], g1: ['a', 'b', 'c'] };

interface Client {
  ws: WebSocket;
  frames: Array<Record<string, unknown>>;
}

let servers: BroadcastServer[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function connect(server: BroadcastServer, user: string): Promise<Client> {
  const ws = new WebSocket(`ws://${HOST}:${server.port}/?user=${user}`);
  const c: Client = { ws, frames: [] };
  clients.push(c);
  ws.on('message', (data) => c.frames.push(JSON.parse(String(data)) as Record<string, unknown>));
  await eventually(`${user} welcomed`, () => c.frames.some((f) => f.type === 'welcome'));
  return c;
}

const msgs = (c: Client, groupId: string) => c.frames.filter((f) => f.type === 'msg' && f.groupId === groupId).map((f) => [f.seq, f.body]);
const sent = (c: Client) => c.frames.filter((f) => f.type === 'sent').map((f) => [f.id, f.seq]);

describe('baseline broadcast servers', () => {
  it('deliver every send to the members on every server, numbered once by the group’s sequencer', async () => {
    servers = await Promise.all(Array.from({ length: SERVERS }, (_, index) => startBroadcastServer({ host: HOST, port: 0, index, servers: SERVERS, groups: GROUPS, maxPayloadBytes: 64 * 1024 })));
    const peers = servers.map((s, index) => ({ index, host: HOST, port: s.relayPort }));
    await Promise.all(servers.map((s) => s.link(peers)));
    const [a, b, c] = [await connect(servers[0]!, 'a'), await connect(servers[1]!, 'b'), await connect(servers[2]!, 'c')];
    expect(servers.map((s) => s.connections())).toEqual([1, 1, 1]);

    // c's server sequences neither group: both sends cross to the sequencer and back.
    c.ws.send(JSON.stringify({ type: 'send', id: 'x1', groupId: 'g1', body: 'one' }));
    await eventually('c’s first send confirmed', () => sent(c).length === 1);
    c.ws.send(JSON.stringify({ type: 'send', id: 'x2', groupId: 'g1', body: 'two' }));
    a.ws.send(JSON.stringify({ type: 'send', id: 'y1', groupId: 'g0', body: 'three' }));
    b.ws.send(JSON.stringify({ type: 'send', id: 'z1', groupId: 'g1', body: 'four' }));
    await eventually('every message at every member', () => [a, b, c].every((m) => msgs(m, 'g1').length === 3 && msgs(m, 'g0').length === 1));

    for (const m of [a, b, c]) {
      expect(msgs(m, 'g0')).toEqual([[1, 'three']]);
      expect(msgs(m, 'g1').map(([seq]) => seq)).toEqual([1, 2, 3]);
      expect(msgs(m, 'g1')).toEqual(msgs(a, 'g1'));
    }
    expect(msgs(a, 'g1').slice(0, 1)).toEqual([[1, 'one']]);
    expect(sent(c)).toEqual([['x1', 1], ['x2', msgs(a, 'g1').find(([, body]) => body === 'two')?.[0]]]);
    expect(sent(a)).toEqual([['y1', 1]]);
    expect(sent(b)).toEqual([['z1', msgs(a, 'g1').find(([, body]) => body === 'four')?.[0]]]);
  });

  it('refuses an unknown user with HTTP 401 and ignores sends to a group the user is not in', async () => {
    servers = [await startBroadcastServer({ host: HOST, port: 0, index: 0, servers: 1, groups: { g0: ['a'], g1: ['b'] }, maxPayloadBytes: 1024 })];
    await servers[0]!.link([]);
    const refused = new WebSocket(`ws://${HOST}:${servers[0]!.port}/?user=nobody`);
    refused.on('error', () => undefined);
    const status = await new Promise<number | undefined>((resolve) => refused.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
    expect(status).toBe(401);
    refused.terminate();
    const a = await connect(servers[0]!, 'a');
    a.ws.send(JSON.stringify({ type: 'send', id: 'n', groupId: 'g1', body: 'x' }));
    a.ws.send(JSON.stringify({ type: 'send', id: 'y', groupId: 'g0', body: 'y' }));
    await eventually('the allowed send confirmed', () => sent(a).length === 1);
    expect(sent(a)).toEqual([['y', 1]]);
    expect(msgs(a, 'g0')).toEqual([[1, 'y']]);
  });
});
