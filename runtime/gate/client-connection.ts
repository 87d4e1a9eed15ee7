/**
 * One authenticated client WebSocket (protocol v1). It turns untrusted frames into typed ones
 * (or error frames), enforces the per-connection rate limit and the bad-frame limit, writes
 * messages in per-group order (its own ConnectionOrder decides; gaps are fetched through the
 * gate's GapFiller), and answers the gate's heartbeat tick: token expiry, silence, slow
 * consumer, server ping.
 *
 * Per-connection state is a handful of fields; no timers. Everything shared lives in the
 * ConnectionContext, one per gate.
 */
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { type ClientFrame, decodeClientFrame, type FrameLimits, type ServerFrame } from '../protocol/client-frames.js';
import { CloseCode, ErrorCode } from '../protocol/errors.js';
import type { DeliveryPath } from '../protocol/internal-frames.js';
import type { Logger } from '../ops/logger.js';
import { ConnectionOrder, type DeliveryOrderLimits, type DropReason, type GapRequest, type OrderStep } from './delivery-order.js';
import type { GapFiller } from './gap-filler.js';
import type { OrderedItem } from './ordered-item.js';
import { TokenBucket, type TokenBucketLimits, WindowCounter, type WindowLimits } from './rate-limiter.js';
import { rawSocketOf } from '../net/raw-socket.js';
import type { Flushable, TickFlush } from '../net/tick-flush.js';

export interface ConnectionCounters {
  delivered(path: DeliveryPath): void;
  dropped(reason: DropReason | 'closed'): void;
  frameReceived(type: ClientFrame['type']): void;
  frameError(code: ErrorCode): void;
}

/** Shared by every connection of a gate. */
export interface ConnectionContext {
  frameLimits: FrameLimits;
  /** `send` and `sync` frames (each costs logic and Redis work). */
  rate: TokenBucketLimits;
  /** `ack` and `ping` frames: a bucket of their own, so that acking what arrives never starves sends. */
  controlRate: TokenBucketLimits;
  badFrames: WindowLimits;
  order: DeliveryOrderLimits;
  sendBufferBytes: number;
  heartbeatMs: number;
  counters: ConnectionCounters;
  /** Uncorks, at the end of the tick, the sockets that messages were written to. */
  flush: TickFlush;
  log: Logger;
  /** Fetches the gaps that a connection's order state holds newer messages for. */
  gaps: GapFiller;
  /** A valid, rate-limited frame to act on. */
  onFrame(conn: ClientConnection, frame: ClientFrame): void;
}

/** Close reasons are at most 123 bytes; ours are short ASCII. */
const CLOSE_REASONS: Partial<Record<number, string>> = {
  [CloseCode.HEARTBEAT_TIMEOUT]: 'heartbeat timeout',
  [CloseCode.SLOW_CONSUMER]: 'slow consumer: reconnect and sync',
  [CloseCode.SERVER_ERROR]: 'server error: reconnect',
  [CloseCode.TOO_MANY_BAD_FRAMES]: 'too many invalid frames',
  [CloseCode.TOKEN_EXPIRED]: 'token expired',
  [CloseCode.GOING_AWAY]: 'gate shutting down: reconnect',
};

export class ClientConnection implements Flushable {
  private readonly order: ConnectionOrder;
  private readonly socket: Socket | null;
  /** Corked in this tick, until the gate's TickFlush uncorks it. */
  private corked = false;
  /** Unsent bytes of earlier ticks when this tick corked the socket (constant until the flush). */
  private unsentAtCork = 0;
  private lastSeenMs: number;
  /** When the gate started closing this connection (0 = open). */
  private closingSinceMs = 0;
  private readonly bucket: TokenBucket;
  private readonly controlBucket: TokenBucket;
  private badFrames: WindowCounter | null = null;
  /** Client `sync` requests sent to logic and not yet answered (bounded by ClientRequests). */
  syncsInFlight = 0;
  /** Client `send` and `sync` requests sent to logic and not yet answered (ClientRequests counts them). */
  requestsInFlight = 0;
  /** Draining: frames from the client are no longer acted on (an unconfirmed send is resent after the reconnect). */
  private draining = false;

  constructor(
    readonly ws: WebSocket,
    readonly userId: string,
    readonly connId: string,
    /** Token expiry, ms since the epoch. */
    readonly expMs: number,
    private readonly ctx: ConnectionContext,
    nowMs: number,
  ) {
    this.lastSeenMs = nowMs;
    this.bucket = new TokenBucket(ctx.rate, nowMs);
    this.controlBucket = new TokenBucket(ctx.controlRate, nowMs);
    this.order = new ConnectionOrder(ctx.order);
    this.socket = rawSocketOf(ws);
  }

  /** Open and not being closed by the gate: writes go out. */
  get isOpen(): boolean {
    return this.closingSinceMs === 0 && this.ws.readyState === 1;
  }

  /** Any sign of life (a frame, a pong). */
  seen(nowMs: number): void {
    this.lastSeenMs = nowMs;
  }

  /** One frame from the client. Never throws. */
  receive(data: RawData, isBinary: boolean, nowMs: number): void {
    this.lastSeenMs = nowMs;
    if (this.closingSinceMs !== 0 || this.draining) return;
    if (isBinary) {
      this.reject(null, ErrorCode.BAD_FRAME, 'binary frames are not accepted: send JSON text frames', nowMs);
      return;
    }
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const limits = this.ctx.frameLimits;
    if (buf.length > limits.maxFrameBytes) {
      this.reject(null, ErrorCode.FRAME_TOO_LARGE, `frame is ${buf.length} bytes; the limit is ${limits.maxFrameBytes}`, nowMs);
      return;
    }
    const decoded = decodeClientFrame(buf.toString('utf8'), buf.length, limits);
    if (!decoded.ok) {
      this.reject(decoded.id, decoded.code, decoded.message, nowMs);
      return;
    }
    const frame = decoded.frame;
    if (frame.type === 'ack' || frame.type === 'ping') {
      if (!this.controlBucket.take(nowMs)) {
        this.sendError(null, ErrorCode.RATE_LIMITED, `more than ${this.ctx.controlRate.ratePerSec} ack and ping frames per second: ${frame.type} dropped (a later cumulative ack covers a dropped one)`);
        return;
      }
    } else if (!this.bucket.take(nowMs)) {
      this.sendError(frame.id, ErrorCode.RATE_LIMITED, `more than ${this.ctx.rate.ratePerSec} send and sync frames per second: frame dropped, slow down and resend`);
      return;
    }
    this.ctx.counters.frameReceived(frame.type);
    this.ctx.onFrame(this, frame);
  }

  sendFrame(frame: ServerFrame): void {
    this.sendRaw(JSON.stringify(frame));
  }

  sendError(id: string | null, code: ErrorCode, message: string): void {
    this.ctx.counters.frameError(code);
    this.sendFrame({ type: 'error', id, code, message });
  }

  // ------------------------------------------------------------ delivery

  /**
   * Messages of one group pushed by logic, ascending by seq. `addressed` is true when they were
   * sent to this very connection (its login backlog), which must not wait for its own login.
   */
  deliver(groupId: string, items: readonly OrderedItem[], addressed: boolean): void {
    // One live message, next in its group: the usual push, written without an OrderStep.
    const only = items.length === 1 && !addressed ? items[0] : undefined;
    if (only !== undefined && this.order.takeNext(groupId, only.seq)) {
      this.write(only);
      return;
    }
    this.carryOut(this.order.offer(groupId, items, addressed));
  }

  /** The login replay was answered (a failed one is retried, see login-replay.ts): release the live messages it held back. */
  loginDone(): void {
    this.carryOut(this.order.loginDone());
  }

  private carryOut(step: OrderStep): void {
    for (const item of step.write) this.write(item);
    if (step.drops) for (const reason of step.drops) this.ctx.counters.dropped(reason);
    if (step.fills) for (const gap of step.fills) this.fill(gap);
  }

  /** Fetch a gap, then let the order state deliver what it holds (whatever the fetch returned). */
  private fill(gap: GapRequest): void {
    void this.ctx.gaps.fetch(this.userId, gap).then((items) => {
      if (this.isOpen) this.carryOut(this.order.fillDone(gap.groupId, items));
    });
  }

  /**
   * One message: its pre-framed bytes go to the corked socket (uncorked at the end of the tick,
   * so all of this tick's messages leave in one `writev`); without a raw socket, `ws.send`.
   */
  private write(item: OrderedItem): void {
    if (!this.writable()) {
      this.ctx.counters.dropped('closed');
      return;
    }
    const socket = this.socket;
    if (socket === null) {
      this.ws.send(item.frame, { binary: false });
    } else {
      if (!this.corked) {
        this.unsentAtCork = this.ws.bufferedAmount;
        this.corked = true;
        socket.cork();
        this.ctx.flush.add(this);
      }
      socket.write(item.wire);
    }
    this.ctx.counters.delivered(item.path);
  }

  /** End of the tick: hand what was written to the kernel. */
  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket?.uncork();
  }

  // ------------------------------------------------------------ lifecycle

  /**
   * The gate's heartbeat, every heartbeatMs for every connection: close expired tokens, silent
   * clients and slow consumers, terminate connections whose close did not complete, ping the rest.
   */
  tick(nowMs: number): void {
    if (this.closingSinceMs !== 0) {
      if (nowMs - this.closingSinceMs >= this.ctx.heartbeatMs) this.ws.terminate();
      return;
    }
    if (this.ws.readyState !== 1) return;
    if (nowMs >= this.expMs) {
      this.close(CloseCode.TOKEN_EXPIRED, nowMs);
      return;
    }
    if (nowMs - this.lastSeenMs >= 2 * this.ctx.heartbeatMs) {
      this.close(CloseCode.HEARTBEAT_TIMEOUT, nowMs);
      return;
    }
    if (this.ws.bufferedAmount > this.ctx.sendBufferBytes) {
      this.close(CloseCode.SLOW_CONSUMER, nowMs);
      return;
    }
    this.ws.ping();
  }

  /**
   * The gate drains this connection: from now on its frames are ignored (nothing new is accepted,
   * so nothing accepted can be lost by the close), while answers and messages still go out until
   * the gate closes it once `requestsInFlight` is 0.
   */
  stopTaking(): void {
    this.draining = true;
  }

  /** Closing or closed (by either side). */
  get isClosed(): boolean {
    return this.closingSinceMs !== 0 || this.ws.readyState > 1;
  }

  /** Start closing with `code`; a close that does not complete is terminated by the next tick. */
  close(code: number, nowMs = Date.now()): void {
    if (this.closingSinceMs !== 0) return;
    this.closingSinceMs = nowMs;
    if (this.ws.readyState === 0 || this.ws.readyState === 1) this.ws.close(code, CLOSE_REASONS[code] ?? '');
  }

  /** Write unless closing; a connection whose unsent bytes already exceed the bound is closed instead. */
  private sendRaw(data: string | Buffer): boolean {
    if (!this.writable()) return false;
    this.ws.send(data, { binary: false });
    return true;
  }

  /**
   * Open, and not a slow consumer: bytes left unsent from earlier ticks above the bound → close.
   * What this tick wrote to the corked socket does not count; nothing has tried to send it yet.
   */
  private writable(): boolean {
    if (!this.isOpen) return false;
    const unsent = this.corked ? this.unsentAtCork : this.ws.bufferedAmount;
    if (unsent <= this.ctx.sendBufferBytes) return true;
    this.ctx.log.debug({ connId: this.connId, buffered: unsent }, 'slow consumer closed');
    this.close(CloseCode.SLOW_CONSUMER);
    return false;
  }

  private reject(id: string | null, code: ErrorCode, message: string, nowMs: number): void {
    if (!this.badFrames) this.badFrames = new WindowCounter(this.ctx.badFrames, nowMs);
    if (!this.badFrames.add(nowMs)) {
      this.ctx.counters.frameError(code);
      this.ctx.log.debug({ connId: this.connId, code }, 'too many invalid frames: closing');
      this.close(CloseCode.TOO_MANY_BAD_FRAMES, nowMs);
      return;
    }
    this.sendError(id, code, message);
  }
}
