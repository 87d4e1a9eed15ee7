/**
 * The gates linked to this logic node: one live link per gate name. A gate that connects again
 * (a reconnect, or a restarted process with a new boot id) replaces its older link, which is
 * closed: the newest link wins. Deliveries go only to a link whose boot id matches the device's,
 * so devices of an earlier incarnation of a gate are never delivered to.
 */
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { InternalCloseCode, type LogicToGateFrame } from '../protocol/internal-frames.js';
import { rawSocketOf } from '../net/raw-socket.js';
import type { LogicMetrics } from './logic-metrics.js';

export class GateLink {
  /** Requests of this link being worked on. */
  inFlight = 0;
  /** Malformed frames received on this link. */
  badFrames = 0;
  /** Set on pong or any frame; cleared when a ping is sent. */
  alive = true;

  constructor(
    readonly gate: string,
    readonly boot: string,
    readonly ws: WebSocket,
    /** Above this many unsent bytes, pushes that can be repeated later (`sendDroppable`) are dropped. */
    readonly maxBufferedBytes: number = Number.POSITIVE_INFINITY,
  ) {}

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Queue a frame; false when the link is no longer open. */
  send(frame: LogicToGateFrame): boolean {
    return this.sendText(JSON.stringify(frame));
  }

  /** Queue a frame already serialised (`text` is the JSON of a LogicToGateFrame); false when the link is no longer open. */
  sendText(text: string): boolean {
    if (!this.open) return false;
    this.ws.send(text);
    return true;
  }

  /**
   * Queue a serialised frame that can be delivered again later (online fan-out, sweep); false
   * when the link is closed or its send buffer is over the bound (a slow gate).
   */
  sendDroppable(text: string): boolean {
    if (this.ws.bufferedAmount > this.maxBufferedBytes) return false;
    return this.sendText(text);
  }

  /**
   * Hold this link's writes until `release` (calls nest): the frames of one fan-out are all
   * written before the first gate is woken by its own. Without a raw socket, a no-op.
   */
  hold(): void {
    rawSocketOf(this.ws)?.cork();
  }

  release(): void {
    rawSocketOf(this.ws)?.uncork();
  }

  /** Send a frame and resolve once it is written to the socket (for long replays: backpressure). */
  sendFlushed(frame: LogicToGateFrame): Promise<boolean> {
    if (!this.open) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.ws.send(JSON.stringify(frame), (err) => resolve(!err));
    });
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.CLOSED || this.ws.readyState === WebSocket.CLOSING) return;
    this.ws.close(code, reason);
  }
}

export class GateLinks {
  private readonly byGate = new Map<string, GateLink>();
  private changes = 0;

  constructor(
    private readonly metrics: LogicMetrics,
    private readonly log: Logger,
  ) {}

  /** Register a new link; an older link of the same gate is closed. */
  add(link: GateLink): void {
    const older = this.byGate.get(link.gate);
    this.byGate.set(link.gate, link);
    this.changes++;
    this.metrics.gateLinks.set(this.byGate.size);
    if (older && older !== link) {
      this.log.info({ gate: link.gate, boot: link.boot, olderBoot: older.boot }, 'gate link replaced by a newer one');
      older.close(InternalCloseCode.LINK_REPLACED, 'replaced by a newer link of the same gate');
    }
  }

  /** Forget a closed link (unless a newer one already took its place). */
  remove(link: GateLink): void {
    if (this.byGate.get(link.gate) !== link) return;
    this.byGate.delete(link.gate);
    this.changes++;
    this.metrics.gateLinks.set(this.byGate.size);
  }

  /** The open link of `gate` whose process is `boot`, if any. */
  forDevice(gate: string, boot: string): GateLink | undefined {
    const link = this.byGate.get(gate);
    return link && link.boot === boot && link.open ? link : undefined;
  }

  get size(): number {
    return this.byGate.size;
  }

  /** Changes with every link added or removed: equal values mean the same set of links. */
  get generation(): number {
    return this.changes;
  }

  /** Tell every linked gate that this node is shutting down (`draining`): they route around it. */
  announceDraining(): number {
    let told = 0;
    for (const link of this.byGate.values()) if (link.send({ t: 'draining' })) told++;
    return told;
  }
}
