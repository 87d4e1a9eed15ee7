/**
 * The `--baseline` of `imgroup bench`: a bare `ws` broadcast server. It speaks just enough of
 * protocol v1 for the same client workers — `welcome` on connect, `send` → `sent` to the sender
 * and one `msg` (stringified once) to every connected member of the group, the sender included —
 * and nothing else: no authentication, storage, presence, routing, ordering or acknowledgements
 * (acks are read and dropped). Fan-out uses the gate's own technique — the frame is built once
 * per message and the same bytes are written to every socket — so the comparison is not won by
 * framing tricks: what imgroup delivers per second as a fraction of this is the price of
 * everything it adds over raw WebSocket fan-out on the same machine. It is one process (a gate
 * cluster has several): see the README for how to read the fraction.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { rawSocketOf } from '../gate/raw-socket.js';
import { textFrame } from '../gate/text-frame.js';
import { listen } from '../ops/listen.js';

export interface BroadcastServerOptions {
  host: string;
  port: number;
  /** groupId → member user ids. */
  groups: Record<string, string[]>;
  maxPayloadBytes: number;
}

/** IPC between `imgroup bench` and the forked server process (broadcast-server-main.ts). */
export type BroadcastCommand = { type: 'start'; host: string; groups: Record<string, string[]>; maxPayloadBytes: number };
export type BroadcastReply = { type: 'listening'; port: number } | { type: 'error'; message: string };

export interface BroadcastServer {
  port: number;
  close(): Promise<void>;
}

export async function startBroadcastServer(o: BroadcastServerOptions): Promise<BroadcastServer> {
  const groupsOf = new Map<string, string[]>();
  const online = new Map<string, Set<WebSocket>>();
  const seqs = new Map<string, number>();
  for (const [groupId, members] of Object.entries(o.groups)) {
    online.set(groupId, new Set());
    seqs.set(groupId, 0);
    for (const u of members) {
      let list = groupsOf.get(u);
      if (!list) groupsOf.set(u, (list = []));
      list.push(groupId);
    }
  }
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
    for (const g of groups) online.get(g)?.add(ws);
    ws.on('close', () => {
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
      const members = online.get(f.groupId);
      if (!members || !groups.includes(f.groupId)) return;
      const seq = (seqs.get(f.groupId) ?? 0) + 1;
      seqs.set(f.groupId, seq);
      const ts = Date.now();
      ws.send(JSON.stringify({ type: 'sent', id: f.id, groupId: f.groupId, seq, ts }));
      const msg = JSON.stringify({ type: 'msg', groupId: f.groupId, seq, from: userId, body: f.body, ts });
      const wire = textFrame(Buffer.from(msg));
      for (const peer of members) {
        if (peer.readyState !== WebSocket.OPEN) continue;
        const socket = rawSocketOf(peer);
        if (socket) socket.write(wire);
        else peer.send(msg);
      }
    });
    ws.send(JSON.stringify({ type: 'welcome', userId, connId: String(++connIds), gate: 'baseline', heartbeatMs: 0 }));
  });

  const port = await listen(server, o.port, o.host);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
