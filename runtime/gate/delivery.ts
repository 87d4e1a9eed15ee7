/**
 * `deliver` pushes from logic to local client connections. Each message is serialised and
 * framed once (OrderedItem) and the same bytes go to every connection it is for; each connection
 * keeps its own per-group order (duplicates dropped, small gaps fetched, login backlog first).
 * Listed users with no connection here get one `missed` notice back to the logic node that pushed.
 */
import type { DeliverFrame, MissedNotice } from '../protocol/internal-frames.js';
import type { Logger } from '../ops/logger.js';
import type { ClientConnection } from './client-connection.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { GateMetrics } from './gate-metrics.js';
import { type OrderedItem, orderedItem } from './ordered-item.js';

/** The logic node a `deliver` frame came from: `missed` notices go back to it. */
export interface DeliverOrigin {
  /** Fire and forget; false when it could not be sent. */
  notify(frame: MissedNotice): boolean;
}

export class Delivery {
  private readonly log: Logger;

  constructor(
    private readonly registry: ConnectionRegistry<ClientConnection>,
    private readonly metrics: GateMetrics,
    log: Logger,
  ) {
    this.log = log.child({ component: 'delivery' });
  }

  /** A `deliver` frame from `origin`. Never throws. */
  deliver(frame: DeliverFrame, origin: DeliverOrigin): void {
    const items = this.itemsOf(frame);
    if (items.length === 0) return;
    const groupId = frame.groupId;
    if (frame.conns) {
      for (const connId of frame.conns) this.registry.byId(connId)?.deliver(groupId, items, true);
      return;
    }
    let missed: string[] | null = null;
    const deliverLive = (conn: ClientConnection) => conn.deliver(groupId, items, false);
    for (const userId of frame.users ?? []) {
      const n = this.registry.forUser(userId, deliverLive);
      if (n === 0) (missed ??= []).push(userId);
    }
    if (missed) origin.notify({ t: 'missed', groupId, users: missed });
    // Live fan-out only, once per push: store time (the logic node's clock) → written here.
    const ts = frame.msgs[0]?.ts;
    if (frame.path === 'online' && ts !== undefined) this.metrics.deliveryDelay.observe(Math.max(0, Date.now() - ts) / 1000);
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
      items.push(orderedItem(m, frame.path));
    }
    if (!sorted) items.sort((a, b) => a.seq - b.seq);
    return items;
  }
}
