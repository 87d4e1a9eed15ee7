/**
 * A scripted protocol peer for client tests: a real `ws` WebSocketServer on 127.0.0.1, port 0,
 * whose connections the test drives frame by frame (send a welcome, answer a send, close with a
 * code). It records every frame the client wrote, so tests assert what went over the wire.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export type Frame = Record<string, unknown> & { type: string };

interface Waiter {
  predicate: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
}

export class PeerConnection {
  /** Every frame the client wrote on this connection, in order. */
  readonly frames: Frame[] = [];
  private readonly waiters: Waiter[] = [];
  /** Resolves with the close code once the socket is closed. */
  readonly closed: Promise<number>;

  constructor(
    readonly ws: WebSocket,
    readonly request: IncomingMessage,
  ) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      this.frames.push(frame);
      for (const w of [...this.waiters]) {
        if (!w.predicate(frame)) continue;
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(frame);
      }
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  /** The `token` query parameter of the upgrade request. */
  get token(): string | null {
    return new URL(this.request.url ?? '/', 'ws://peer').searchParams.get('token');
  }

  /** The next frame (already received or future) of `type` matching `predicate`, not taken before. */
  nextFrame(type: string, predicate: (frame: Frame) => boolean = () => true): Promise<Frame> {
    const match = (f: Frame) => f.type === type && predicate(f);
    const seen = this.frames.find((f) => match(f) && !this.taken.has(f));
    if (seen !== undefined) {
      this.taken.add(seen);
      return Promise.resolve(seen);
    }
    return new Promise((resolve) =>
      this.waiters.push({
        predicate: (f) => match(f) && !this.taken.has(f),
        resolve: (f) => {
          this.taken.add(f);
          resolve(f);
        },
      }),
    );
  }

  private readonly taken = new Set<Frame>();

  framesOf(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  welcome(heartbeatMs = 60_000): void {
    this.send({ type: 'welcome', userId: 'alice', connId: `c${Math.random()}`, gate: 'gate-0', heartbeatMs });
  }

  msg(groupId: string, seq: number, body = `m${seq}`): void {
    this.send({ type: 'msg', groupId, seq, from: 'bob', body, ts: 1_700_000_000_000 + seq });
  }

  close(code: number, reason = ''): void {
    this.ws.close(code, reason);
  }
}

export class ScriptedPeer {
  readonly connections: PeerConnection[] = [];
  private readonly connectionWaiters: Array<{ index: number; resolve: (c: PeerConnection) => void }> = [];

  private constructor(
    private readonly server: WebSocketServer,
    readonly url: string,
  ) {
    server.on('connection', (ws, request) => {
      const conn = new PeerConnection(ws, request);
      this.connections.push(conn);
      const index = this.connections.length - 1;
      for (const w of [...this.connectionWaiters]) {
        if (w.index !== index) continue;
        this.connectionWaiters.splice(this.connectionWaiters.indexOf(w), 1);
        w.resolve(conn);
      }
    });
  }

  static async start(): Promise<ScriptedPeer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v1/ws' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const { port } = server.address() as AddressInfo;
    return new ScriptedPeer(server, `ws://127.0.0.1:${port}/v1/ws`);
  }

  /** The `index`-th connection (0-based), once the client has opened it. */
  connection(index: number): Promise<PeerConnection> {
    const existing = this.connections[index];
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve) => this.connectionWaiters.push({ index, resolve }));
  }

  async stop(): Promise<void> {
    for (const c of this.connections) c.ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
