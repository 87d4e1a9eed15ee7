/**
 * `deliver` pushes from logic to local client connections. Each message is serialised and
 * framed once (`JSON.stringify(msgFrame(m))`, UTF-8, WebSocket text frame) and the same bytes are
 * written to every connection, each through its own ConnectionOrder (duplicates dropped, small gaps fetched, login
 * backlog first). Listed users with no connection here get one `missed` notice back to the
 * logic node that pushed. Gap fetches are internal `sync` requests as the connection's user.
 */
import { type ChatMessage, msgFrame } from '../protocol/client-frames.js';
import type { DeliverFrame } from '../protocol/internal-frames.js';
import type { Logger } from '../ops/logger.js';
import type { ClientConnection } from './client-connection.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { DeliveryPath, OrderedItem } from './delivery-order.js';
import type { GateMetrics } from './gate-metrics.js';
import type { LogicLink } from './logic-link.js';
import type { Router } from './router.js';
import { textFrame } from './text-frame.js';

export interface DeliveryOptions {
  gapFillTimeoutMs: number;
}

export function toItem(m: ChatMessage, path: DeliveryPath): OrderedItem {
  const frame = Buffer.from(JSON.stringify(msgFrame(m)), 'utf8');
  return { seq: m.seq, frame, wire: textFrame(frame), path };
}

export class Delivery {
  private readonly log: Logger;

  constructor(
    private readonly registry: ConnectionRegistry<ClientConnection>,
    private readonly router: Router,
    private readonly metrics: GateMetrics,
    private readonly opts: DeliveryOptions,
    log: Logger,
  ) {
    this.log = log.child({ component: 'delivery' });
  }

  /** A `deliver` frame from `link`. Never throws. */
  onDeliver(link: LogicLink, frame: DeliverFrame): void {
    const items = this.itemsOf(frame);
    if (items.length === 0) return;
    const groupId = frame.groupId;
    if (frame.conns) {
      for (const connId of frame.conns) {
        const conn = this.registry.byId(connId);
        if (conn) this.offer(conn, groupId, items, true);
      }
      return;
    }
    let missed: string[] | null = null;
    const offerLive = (conn: ClientConnection) => this.offer(conn, groupId, items, false);
    for (const userId of frame.users ?? []) {
      const n = this.registry.forUser(userId, offerLive);
      if (n === 0) (missed ??= []).push(userId);
    }
    if (missed) link.notify({ t: 'missed', groupId, users: missed });
    // Live fan-out only, once per push: store time (the logic node's clock) → written here.
    const ts = frame.msgs[0]?.ts;
    if (frame.path === 'online' && ts !== undefined) this.metrics.deliveryDelay.observe(Math.max(0, Date.now() - ts) / 1000);
  }

  /** The connection's login replay finished (ok or not): release its buffered live messages. */
  loginDone(conn: ClientConnection): void {
    conn.order.loginDone(conn);
  }

  /** Fetch (afterSeq, afterSeq + limit] of a group for one connection, then let its order state deliver. */
  fillGap(conn: ClientConnection, groupId: string, afterSeq: number, limit: number): void {
    this.router
      .request(groupId, { op: 'sync', userId: conn.userId, groupId, afterSeq, limit }, this.opts.gapFillTimeoutMs)
      .then(
        (r) => {
          this.metrics.gapFills.inc({ outcome: 'ok' });
          const last = afterSeq + limit;
          const items = r.messages.filter((m) => m.groupId === groupId && m.seq > afterSeq && m.seq <= last).map((m) => toItem(m, 'gapfill'));
          if (conn.isOpen) conn.order.fillDone(groupId, items, conn);
        },
        (err: Error) => {
          this.metrics.gapFills.inc({ outcome: 'failed' });
          this.log.debug({ err: err.message, connId: conn.connId, afterSeq, limit }, 'gap fill failed; delivering what is held');
          if (conn.isOpen) conn.order.fillDone(groupId, null, conn);
        },
      );
  }

  private offer(conn: ClientConnection, groupId: string, items: readonly OrderedItem[], bypassLogin: boolean): void {
    for (const item of items) conn.order.offer(groupId, item, conn, bypassLogin);
  }

  private itemsOf(frame: DeliverFrame): OrderedItem[] {
    const items: OrderedItem[] = [];
    let prev = -1;
    let sorted = true;
    for (const m of frame.msgs) {
      if (m.groupId !== frame.groupId) {
        this.log.warn({ groupId: frame.groupId }, 'deliver frame carries a message of another group; skipped');
        continue;
      }
      if (m.seq < prev) sorted = false;
      prev = m.seq;
      items.push(toItem(m, frame.path));
    }
    if (!sorted) items.sort((a, b) => a.seq - b.seq);
    return items;
  }
}
