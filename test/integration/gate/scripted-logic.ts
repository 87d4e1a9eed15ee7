/**
 * A scripted peer of the internal protocol: a real WebSocket server on loopback that accepts the
 * gate's link like a logic node does (same path, same header checks) and lets a test decide each
 * answer and push `deliver` frames. It exists to provoke what a real logic node does only by
 * chance: duplicates, gaps, a push before the login answer, a node that hangs or dies mid-request.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { RawClient } from '../../support/raw-client.js';
import type { ChatMessage } from '../../../runtime/protocol/client-frames.js';
import type { ErrorCode } from '../../../runtime/protocol/errors.js';
import { type DeliverFrame, decodeGateFrame, GATE_BOOT_HEADER, GATE_HEADER, INTERNAL_PATH, type ReqFrame } from '../../../runtime/protocol/internal-frames.js';

export type Answer = { ok: true; result: unknown } | { ok: false; code: ErrorCode; message: string } | 'hang';
export type Handler = (req: ReqFrame, link: WebSocket) => Answer | Promise<Answer>;

export const msg = (groupId: string, seq: number, from = 'someone'): ChatMessage => ({ groupId, seq, from, body: `m${seq}`, ts: 1_700_000_000_000 + seq });

export class ScriptedLogic {
  readonly received: Array<Record<string, any>> = [];
  readonly handshakes: Array<Record<string, string | undefined>> = [];
  readonly links = new Set<WebSocket>();
  handler: Handler = () => ({ ok: false, code: 'INTERNAL', message: 'no handler' });
  private waiters: Array<() => void> = [];

  private constructor(
    readonly id: string,
    private readonly wss: WebSocketServer,
    readonly port: number,
  ) {}

  static async start(id: string, internalToken: string, opts: { autoPong?: boolean } = {}): Promise<ScriptedLogic> {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      path: INTERNAL_PATH,
      autoPong: opts.autoPong ?? true,
      verifyClient: (info: { req: IncomingMessage }) =>
        info.req.headers.authorization === `Bearer ${internalToken}` && typeof info.req.headers[GATE_HEADER] === 'string' && typeof info.req.headers[GATE_BOOT_HEADER] === 'string',
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const logic = new ScriptedLogic(id, wss, (wss.address() as AddressInfo).port);
    wss.on('connection', (ws, req) => logic.accept(ws, req));
    return logic;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get member(): { id: string; url: string } {
    return { id: this.id, url: this.url };
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    this.handshakes.push({ authorization: req.headers.authorization, gate: req.headers[GATE_HEADER] as string, boot: req.headers[GATE_BOOT_HEADER] as string });
    this.links.add(ws);
    this.wake();
    ws.on('close', () => this.links.delete(ws));
    ws.on('message', (data) => {
      const text = String(data);
      const frame = decodeGateFrame(text);
      this.received.push(frame ?? { malformed: text });
      this.wake();
      if (!frame || frame.t !== 'req') return;
      void Promise.resolve(this.handler(frame, ws)).then((answer) => {
        if (answer === 'hang' || ws.readyState !== WebSocket.OPEN) return;
        ws.send(JSON.stringify({ t: 'res', rid: frame.rid, ...answer }));
      });
    });
  }

  /** Push a frame to every gate link. */
  push(frame: DeliverFrame, link?: WebSocket): void {
    for (const ws of link ? [link] : this.links) ws.send(JSON.stringify(frame));
  }

  requests(op: string): Array<Record<string, any>> {
    return this.received.filter((f) => f.t === 'req' && f.op === op);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wait until `cond` holds (re-checked on every received frame or handshake; bounded by `timeoutMs`). */
  async until(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.id}: condition not met; received ${JSON.stringify(this.received.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Crash: drop every link without a close frame and stop listening. */
  async kill(): Promise<void> {
    for (const ws of this.links) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** A logic that answers every login at once (0 groups) and leaves other requests hanging. */
export const loginOk: Handler = (req) => (req.op === 'login' ? { ok: true, result: { groups: 0, delivered: 0 } } : 'hang');

/** Connect and wait until the login request reached logic (and, with loginOk, was answered). */
export async function connectReady(g: { wsUrl: string; token(userId: string): Promise<string> }, logic: ScriptedLogic, userId: string): Promise<RawClient> {
  const c = await RawClient.connect(g.wsUrl, await g.token(userId));
  await logic.until(() => logic.requests('login').some((r) => r.connId === c.frames[0]?.connId));
  return c;
}
