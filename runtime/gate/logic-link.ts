/**
 * One persistent, authenticated internal WebSocket from this gate to one logic node
 * (`<url>/v1/internal`). It reconnects with jittered exponential backoff, pings so that a hung
 * node is noticed within two ping intervals, matches responses to requests by rid, bounds the
 * requests in flight and fails them all at once when the link goes down (the router re-sends
 * them to the new owner). A node that announces `draining` is routed around at once; what it
 * still answers is awaited, what it refuses with UNAVAILABLE is re-sent to the new owner.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import {
  type AckNotice,
  type DeliverFrame,
  decodeLogicFrame,
  GATE_BOOT_HEADER,
  GATE_HEADER,
  INTERNAL_PATH,
  type InternalRequest,
  type MissedNotice,
} from '../protocol/internal-frames.js';
import type { Logger } from '../ops/logger.js';
import { Backoff } from '../retry/backoff.js';
import { rawSocketOf } from '../net/raw-socket.js';

export interface LogicLinkOptions {
  /** Member id of the logic node. */
  id: string;
  /** Its internal endpoint from the membership document (ws:// or wss://). */
  url: string;
  gateName: string;
  bootId: string;
  internalToken: string;
  pingMs: number;
  reconnectMaxMs: number;
  maxPending: number;
  /** Bytes of requests written to the link but not yet handed to the kernel (a logic node that stops reading); beyond it requests fail with UNAVAILABLE. */
  maxBufferedBytes: number;
  maxFrameBytes: number;
}

export interface LogicLinkEvents {
  up(link: LogicLink): void;
  down(link: LogicLink): void;
  deliver(link: LogicLink, frame: DeliverFrame): void;
}

/** The request never reached an answer because the link went down or was closed: safe to re-send elsewhere. */
export class LinkDownError extends Error {
  constructor(linkId: string) {
    super(`link to logic node ${linkId} went down`);
    this.name = 'LinkDownError';
  }
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Shortest reconnect delay and the base of the backoff window. */
const RECONNECT_MIN_MS = 100;

export function internalUrl(memberUrl: string): string {
  return `${memberUrl.replace(/\/+$/, '')}${INTERNAL_PATH}`;
}

export class LogicLink {
  private ws: WebSocket | null = null;
  private up = false;
  /** The node announced its shutdown on this socket: not routable, its answers still awaited. */
  private draining = false;
  private closed = false;
  private nextRid = 1;
  private readonly pending = new Map<number, Pending>();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private alive = false;
  /** The socket corked by a notice of this turn of the event loop (null = not corked). */
  private corked: Socket | null = null;
  private readonly log: Logger;
  private readonly backoff: Backoff;

  constructor(
    readonly opts: LogicLinkOptions,
    private readonly events: LogicLinkEvents,
    log: Logger,
  ) {
    this.log = log.child({ component: 'logic-link', logic: opts.id });
    this.backoff = new Backoff({ minMs: RECONNECT_MIN_MS, maxMs: opts.reconnectMaxMs });
  }

  get id(): string {
    return this.opts.id;
  }

  /** Open and routable (not draining). */
  get isUp(): boolean {
    return this.up && !this.draining;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Bytes queued on the socket, not yet written to the kernel. */
  get bufferedBytes(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  start(): void {
    if (this.closed || this.ws) return;
    this.connect();
  }

  /**
   * Send a request; resolves with logic's `result`, rejects with ProtocolError (logic's error
   * code, or UNAVAILABLE on timeout or when the pending bound is reached) or LinkDownError.
   */
  request(req: InternalRequest, timeoutMs: number): Promise<unknown> {
    const ws = this.ws;
    if (!this.up || this.draining || !ws) return Promise.reject(new LinkDownError(this.id));
    if (this.pending.size >= this.opts.maxPending) {
      return Promise.reject(new ProtocolError(ErrorCode.UNAVAILABLE, `logic node ${this.id} has ${this.pending.size} requests in flight; retry later`));
    }
    if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
      return Promise.reject(new ProtocolError(ErrorCode.UNAVAILABLE, `logic node ${this.id} is not reading its link (${ws.bufferedAmount} bytes queued); retry later`));
    }
    const rid = this.nextRid;
    this.nextRid = this.nextRid >= Number.MAX_SAFE_INTEGER ? 1 : this.nextRid + 1;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new ProtocolError(ErrorCode.UNAVAILABLE, `logic node ${this.id} did not answer within ${timeoutMs} ms; retry`));
      }, timeoutMs);
      this.pending.set(rid, { resolve, reject, timer });
      ws.send(JSON.stringify({ t: 'req', rid, ...req }), (err) => {
        if (!err) return;
        const p = this.pending.get(rid);
        if (!p) return;
        this.pending.delete(rid);
        clearTimeout(p.timer);
        p.reject(new LinkDownError(this.id));
      });
      this.uncork();
    });
  }

  /**
   * Fire-and-forget notice; false when the link is down (the notice is dropped). Notices of one
   * turn of the event loop (the acks of every client read in it) leave in one write: the first
   * corks the socket, `setImmediate` uncorks it; a request uncorks at once.
   */
  notify(frame: AckNotice | MissedNotice): boolean {
    const ws = this.ws;
    if (!this.up || !ws) return false;
    if (this.corked === null) {
      const socket = rawSocketOf(ws);
      if (socket) {
        socket.cork();
        this.corked = socket;
        setImmediate(this.uncork);
      }
    }
    ws.send(JSON.stringify(frame));
    return true;
  }

  /** Hand the corked notices (and whatever followed them) to the kernel. */
  private readonly uncork = (): void => {
    const socket = this.corked;
    this.corked = null;
    socket?.uncork();
  };

  /** Close for good: fail what is pending (re-sendable) and stop reconnecting. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const ws = this.ws;
    this.onSocketGone();
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
    }
  }

  private connect(): void {
    const ws = new WebSocket(internalUrl(this.opts.url), {
      headers: {
        authorization: `Bearer ${this.opts.internalToken}`,
        [GATE_HEADER]: this.opts.gateName,
        [GATE_BOOT_HEADER]: this.opts.bootId,
      },
      maxPayload: this.opts.maxFrameBytes,
      perMessageDeflate: false,
      handshakeTimeout: Math.max(1000, 2 * this.opts.pingMs),
    });
    this.ws = ws;
    ws.on('open', () => {
      this.up = true;
      this.backoff.reset();
      this.alive = true;
      this.pingTimer = setInterval(() => this.ping(), this.opts.pingMs);
      this.log.info({ url: this.opts.url }, 'logic link up');
      this.events.up(this);
    });
    ws.on('message', (data, isBinary) => {
      this.alive = true;
      if (isBinary) {
        this.log.warn('binary frame from logic ignored');
        return;
      }
      this.receive(data.toString());
    });
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', (err) => {
      this.log.debug({ err: err.message }, 'logic link error');
    });
    ws.on('unexpected-response', (_req, res) => {
      this.log.error({ status: res.statusCode }, 'logic node refused the internal link (check IMGROUP_INTERNAL_TOKEN)');
      res.resume();
      ws.terminate();
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.onSocketGone();
      this.scheduleReconnect();
    });
  }

  private ping(): void {
    const ws = this.ws;
    if (!ws || !this.up) return;
    if (!this.alive) {
      this.log.warn({ pingMs: this.opts.pingMs }, 'logic node did not answer pings; dropping the link');
      ws.terminate();
      return;
    }
    this.alive = false;
    ws.ping();
  }

  private receive(text: string): void {
    const frame = decodeLogicFrame(text);
    if (!frame) {
      this.log.warn({ bytes: text.length }, 'malformed frame from logic ignored');
      return;
    }
    if (frame.t === 'deliver') {
      this.events.deliver(this, frame);
      return;
    }
    if (frame.t === 'draining') {
      if (this.draining) return;
      this.draining = true;
      this.log.info({ pending: this.pending.size }, 'logic node is draining; routing around it');
      this.events.down(this);
      return;
    }
    const p = this.pending.get(frame.rid);
    if (!p) return; // answered after its timeout
    this.pending.delete(frame.rid);
    clearTimeout(p.timer);
    if (frame.ok) p.resolve(frame.result);
    // A draining node refuses what it no longer takes: the request goes to the new owner.
    else if (this.draining && frame.code === ErrorCode.UNAVAILABLE) p.reject(new LinkDownError(this.id));
    else p.reject(new ProtocolError(frame.code, frame.message));
  }

  private onSocketGone(): void {
    const wasUp = this.up && !this.draining;
    this.up = false;
    this.draining = false;
    this.ws = null;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) {
      clearTimeout(p.timer);
      p.reject(new LinkDownError(this.id));
    }
    if (wasUp) {
      if (this.closed) this.log.info({ failedRequests: failed.length }, 'logic link closed');
      else this.log.warn({ failedRequests: failed.length }, 'logic link down');
      this.events.down(this);
    }
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const delayMs = this.backoff.next();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delayMs);
  }
}
