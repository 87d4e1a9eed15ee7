/**
 * The `--baseline` of `imgroup bench`: bare `ws` broadcast servers, as many processes as the
 * cluster has gates, the clients split over them exactly as over the gates. They speak just
 * enough of protocol v1 for the same client workers — `welcome` on connect, `send` → `sent` to
 * the sender and one `msg` to every connected member of the group, the sender included — and
 * nothing else: no authentication, storage, presence, routing or acknowledgements (acks are read
 * and dropped).
 *
 * A group's members sit on every process, so a message must cross processes, and its seqs must
 * be the same gap-free sequence everywhere (the clients check that). The least work that gives
 * both: one process per group numbers its messages (its sequencer: the group's position in the
 * run modulo the process count); the process receiving a send relays it to the sequencer unless
 * it is that process (see broadcast-relay.ts), and the sequencer relays the numbered message to
 * every other process over plain loopback TCP. Each process then writes it to its own
 * members — as each gate writes to its own connections what a logic node pushed to every gate.
 * Fan-out uses the gate's own technique: the frame is built once per message and process, the
 * same bytes are written to every socket, and each socket is corked for the tick, so that what a
 * connection gets in one tick leaves in one `writev` (tick-corks.ts): the comparison is won by
 * neither side's framing or system calls.
 * What imgroup delivers per second as a fraction of this, on the same number of processes, is
 * the price of everything it adds over raw WebSocket fan-out on the same machine.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { rawSocketOf } from '../net/raw-socket.js';
import { textFrame } from '../gate/text-frame.js';
import { listen } from '../ops/listen.js';
import { type RelayFrame, RelayMesh, type RelayPeer } from './broadcast-relay.js';
import { TickCorks } from '../net/tick-corks.js';

export interface BroadcastServerOptions {
  host: string;
  port: number;
  /** This process's index among `servers`. */
  index: number;
  /** Broadcast server processes of the run. */
  servers: number;
  /** groupId → online member user ids, in the run's group order (which fixes each group's sequencer). */
  groups: Record<string, string[]>;
  maxPayloadBytes: number;
}

/** IPC between `imgroup bench` and a forked server process (broadcast-server-main.ts). */
export type BroadcastCommand =
  | { type: 'start'; host: string; index: number; servers: number; groups: Record<string, string[]>; maxPayloadBytes: number }
  | { type: 'link'; peers: RelayPeer[] }
  | { type: 'stats' };
export type BroadcastReply =
  | { type: 'listening'; port: number; relayPort: number }
  | { type: 'linked' }
  | { type: 'stats'; cpuSeconds: number; connections: number }
  | { type: 'error'; message: string };

export interface BroadcastServer {
  port: number;
  /** Port peers connect their relay sockets to. */
  relayPort: number;
  /** Open the relay sockets to the other processes. */
  link(peers: readonly RelayPeer[]): Promise<void>;
  /** Client connections open now. */
  connections(): number;
  close(): Promise<void>;
}

/** Relay lines longer than this many send frames' worth close the peer socket. */
const RELAY_LINE_FRAMES = 4;

export async function startBroadcastServer(o: BroadcastServerOptions): Promise<BroadcastServer> {
  const groupsOf = new Map<string, string[]>();
  const online = new Map<string, Set<WebSocket>>();
  const sequencer = new Map<string, number>();
  const seqs = new Map<string, number>();
  Object.entries(o.groups).forEach(([groupId, members], position) => {
    online.set(groupId, new Set());
    sequencer.set(groupId, position % o.servers);
    seqs.set(groupId, 0);
    for (const u of members) {
      let list = groupsOf.get(u);
      if (!list) groupsOf.set(u, (list = []));
      list.push(groupId);
    }
  });
  /** Open client connections by their number on this process (for `sent` answers relayed back). */
  const conns = new Map<number, WebSocket>();
  const corks = new TickCorks();

  /** Write a numbered message to this process's members of its group. */
  const fanOut = (groupId: string, seq: number, from: string, body: string, ts: number) => {
    const members = online.get(groupId);
    if (!members || members.size === 0) return;
    const msg = JSON.stringify({ type: 'msg', groupId, seq, from, body, ts });
    const wire = textFrame(Buffer.from(msg));
    for (const peer of members) {
      if (peer.readyState !== WebSocket.OPEN) continue;
      const socket = rawSocketOf(peer);
      if (socket) corks.write(socket, wire);
      else peer.send(msg);
    }
  };
  const answerSent = (connNo: number, id: string, groupId: string, seq: number, ts: number) => {
    const ws = conns.get(connNo);
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'sent', id, groupId, seq, ts }));
  };
  /** On the group's sequencer: number the message, answer or relay `sent`, fan out here and on every other process. */
  const sequence = (origin: number, connNo: number, id: string, groupId: string, from: string, body: string) => {
    const seq = (seqs.get(groupId) ?? 0) + 1;
    seqs.set(groupId, seq);
    const ts = Date.now();
    if (origin === o.index) answerSent(connNo, id, groupId, seq, ts);
    mesh.sendToAll({ t: 'msg', o: origin, c: connNo, id, g: groupId, seq, from, body, ts });
    fanOut(groupId, seq, from, body, ts);
  };
  const onRelay = (f: RelayFrame) => {
    if (!online.has(f.g)) return;
    if (f.t === 'send') {
      if (sequencer.get(f.g) === o.index) sequence(f.o, f.c, f.id, f.g, f.from, f.body);
      return;
    }
    if (f.o === o.index) answerSent(f.c, f.id, f.g, f.seq, f.ts);
    fanOut(f.g, f.seq, f.from, f.body, f.ts);
  };
  const mesh = new RelayMesh(RELAY_LINE_FRAMES * o.maxPayloadBytes, corks, onRelay);

  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  const userOf = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? '';
  // An unknown user is refused with HTTP 401 before any socket exists, as a gate refuses a bad token.
  const verifyClient = (info: { req: IncomingMessage }, done: (ok: boolean, status?: number, message?: string) => void) =>
    groupsOf.has(userOf(info.req)) ? done(true) : done(false, 401, 'unknown user');
  const wss = new WebSocketServer({ server, maxPayload: o.maxPayloadBytes, perMessageDeflate: false, clientTracking: false, verifyClient });
  let connIds = 0;

  wss.on('connection', (ws, req) => {
    const userId = userOf(req);
    const groups = groupsOf.get(userId) ?? []; // verifyClient admitted known users only
    const connNo = ++connIds;
    conns.set(connNo, ws);
    for (const g of groups) online.get(g)?.add(ws);
    ws.on('close', () => {
      conns.delete(connNo);
      for (const g of groups) online.get(g)?.delete(ws);
    });
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let f: { type?: unknown; id?: unknown; groupId?: unknown; body?: unknown };
      try {
        f = JSON.parse(String(data)) as typeof f;
      } catch {
        return;
      }
      if (f.type === 'ping') {
        ws.send('{"type":"pong"}');
        return;
      }
      if (f.type !== 'send' || typeof f.id !== 'string' || typeof f.groupId !== 'string' || typeof f.body !== 'string') return;
      if (!groups.includes(f.groupId)) return;
      const owner = sequencer.get(f.groupId) as number;
      if (owner === o.index) sequence(o.index, connNo, f.id, f.groupId, userId, f.body);
      else mesh.sendTo(owner, { t: 'send', o: o.index, c: connNo, id: f.id, g: f.groupId, from: userId, body: f.body });
    });
    ws.send(JSON.stringify({ type: 'welcome', userId, connId: `${o.index}.${connNo}`, gate: `baseline-${o.index}`, heartbeatMs: 0 }));
  });

  const port = await listen(server, o.port, o.host);
  const relayPort = await mesh.listen(o.host);
  return {
    port,
    relayPort,
    link: (peers) => mesh.connect(peers.filter((p) => p.index !== o.index)),
    connections: () => conns.size,
    close: async () => {
      await mesh.close();
      await new Promise<void>((resolve) => {
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
