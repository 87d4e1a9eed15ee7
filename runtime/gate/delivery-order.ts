/**
 * Per-connection delivery order: a client sees the messages of each group in ascending seq,
 * each at most once.
 *
 * - The highest seq delivered per group is remembered; anything at or below it is a duplicate
 *   (sweep, replay, retries) and dropped. The first message of a group sets the baseline.
 * - A gap (seq > last + 1) of at most `maxGapFill` messages holds the newer messages and asks
 *   the sink to fetch the missing range; `fillDone` then delivers in order. When the fetch fails,
 *   what is held is delivered as it is (the client's own gap detection syncs). Larger gaps, or
 *   gaps beyond `maxFills` concurrent fetches, are delivered as they are.
 * - Until the connection's login replay has finished, live deliveries are buffered (bounded;
 *   overflow is dropped: those messages stay behind the user's cursor and come back by replay,
 *   sweep or sync), so the backlog goes out first.
 *
 * Pure state, no I/O and no timers: the sink writes and fetches. Maps are created lazily, so an
 * idle connection costs a few fields.
 */

export type DeliveryPath = 'online' | 'offline' | 'sweep' | 'gapfill';

/** One message, serialised once, shared by every connection it goes to. */
export interface OrderedItem {
  seq: number;
  /** UTF-8 of `JSON.stringify(msgFrame(m))`, encoded once. */
  frame: Buffer;
  /** `frame` as a complete WebSocket text frame (`textFrame`), written as it is to every connection. */
  wire: Buffer;
  path: DeliveryPath;
}

export type DropReason = 'duplicate' | 'overflow';

export interface OrderSink {
  write(item: OrderedItem): void;
  /** Fetch seqs afterSeq+1 … afterSeq+limit of the group, then call `fillDone`. */
  fill(groupId: string, afterSeq: number, limit: number): void;
  dropped(reason: DropReason): void;
}

export interface DeliveryOrderLimits {
  /** Largest gap fetched before delivering newer messages (0 = never fetch). */
  maxGapFill: number;
  /** Messages held while login runs, and per group while a gap is fetched. */
  maxHeld: number;
  /** Groups whose last seq is remembered; least recently used are forgotten. */
  maxTrackedGroups: number;
  /** Gap fetches in flight per connection. */
  maxFills: number;
}

interface Buffered {
  groupId: string;
  item: OrderedItem;
}

export class ConnectionOrder {
  private loginPending = true;
  private loginBuffer: Buffered[] | null = null;
  private last: Map<string, number> | null = null;
  /** Held messages (ascending) of groups with a gap fetch in flight. */
  private fills: Map<string, OrderedItem[]> | null = null;
  /** The group last passed to setLast: the newest entry of `last`. */
  private newest: string | null = null;

  constructor(private readonly limits: DeliveryOrderLimits) {}

  /**
   * Offer one message. `bypassLogin` is true for messages addressed to this very connection
   * (its login backlog), which must not wait for the login they belong to.
   */
  offer(groupId: string, item: OrderedItem, sink: OrderSink, bypassLogin: boolean): void {
    if (this.loginPending && !bypassLogin) {
      if (!this.loginBuffer) this.loginBuffer = [];
      if (this.loginBuffer.length >= this.limits.maxHeld) {
        sink.dropped('overflow');
        return;
      }
      this.loginBuffer.push({ groupId, item });
      return;
    }
    this.order(groupId, item, sink);
  }

  /** The login request finished (answered, failed or timed out): release what was buffered. */
  loginDone(sink: OrderSink): void {
    if (!this.loginPending) return;
    this.loginPending = false;
    const buffered = this.loginBuffer;
    this.loginBuffer = null;
    if (buffered) for (const b of buffered) this.order(b.groupId, b.item, sink);
  }

  /** A gap fetch finished: `fetched` are its messages, or null when it failed or timed out. */
  fillDone(groupId: string, fetched: readonly OrderedItem[] | null, sink: OrderSink): void {
    const held = this.fills?.get(groupId);
    if (!held) return;
    this.fills?.delete(groupId);
    let last = this.last?.get(groupId) ?? -1;
    let advanced = false;
    if (fetched) {
      for (const f of [...fetched].sort((a, b) => a.seq - b.seq)) {
        if (f.seq <= last) continue;
        sink.write(f);
        last = f.seq;
        advanced = true;
      }
      if (advanced) this.setLast(groupId, last);
    }
    if (advanced) {
      // The gap is closed (or moved): newer held messages go through the normal rules again.
      for (const h of held) this.order(groupId, h, sink);
      return;
    }
    for (const h of held) {
      if (h.seq <= last) {
        sink.dropped('duplicate');
        continue;
      }
      sink.write(h);
      last = h.seq;
    }
    if (last >= 0) this.setLast(groupId, last);
  }

  /** Highest seq delivered in a group (undefined = none remembered). For tests and diagnostics. */
  lastSeq(groupId: string): number | undefined {
    return this.last?.get(groupId);
  }

  /** Messages currently held (login buffer plus gap fetches). */
  heldCount(): number {
    let n = this.loginBuffer?.length ?? 0;
    if (this.fills) for (const h of this.fills.values()) n += h.length;
    return n;
  }

  get isLoginPending(): boolean {
    return this.loginPending;
  }

  private order(groupId: string, item: OrderedItem, sink: OrderSink): void {
    const last = this.last?.get(groupId);
    if (last === undefined) {
      const held = this.fills?.get(groupId);
      if (held) {
        this.hold(held, item, sink);
        return;
      }
      sink.write(item);
      this.setLast(groupId, item.seq);
      return;
    }
    if (item.seq <= last) {
      sink.dropped('duplicate');
      return;
    }
    const held = this.fills?.get(groupId);
    if (item.seq === last + 1) {
      sink.write(item);
      let next = item.seq;
      if (held) {
        while (held.length > 0 && (held[0] as OrderedItem).seq <= next + 1) {
          const h = held.shift() as OrderedItem;
          if (h.seq <= next) {
            sink.dropped('duplicate');
            continue;
          }
          sink.write(h);
          next = h.seq;
        }
      }
      this.setLast(groupId, next);
      return;
    }
    if (held) {
      this.hold(held, item, sink);
      return;
    }
    const gap = item.seq - last - 1;
    if (gap > this.limits.maxGapFill || (this.fills?.size ?? 0) >= this.limits.maxFills) {
      sink.write(item);
      this.setLast(groupId, item.seq);
      return;
    }
    if (!this.fills) this.fills = new Map();
    this.fills.set(groupId, [item]);
    sink.fill(groupId, last, gap);
  }

  /** Insert into an ascending held list, dropping duplicates and overflow. */
  private hold(held: OrderedItem[], item: OrderedItem, sink: OrderSink): void {
    let i = held.length;
    while (i > 0 && (held[i - 1] as OrderedItem).seq > item.seq) i--;
    if (i > 0 && (held[i - 1] as OrderedItem).seq === item.seq) {
      sink.dropped('duplicate');
      return;
    }
    if (held.length >= this.limits.maxHeld) {
      sink.dropped('overflow');
      return;
    }
    held.splice(i, 0, item);
  }

  private setLast(groupId: string, seq: number): void {
    if (!this.last) this.last = new Map();
    if (groupId === this.newest) {
      // Already the most recently used: update in place (the common case, one busy group).
      this.last.set(groupId, seq);
      return;
    }
    this.newest = groupId;
    if (this.last.has(groupId)) {
      // Re-insert so the map's order is least-recently-used first.
      this.last.delete(groupId);
    } else if (this.last.size >= this.limits.maxTrackedGroups) {
      const oldest = this.last.keys().next().value;
      if (oldest !== undefined) this.last.delete(oldest);
    }
    this.last.set(groupId, seq);
  }
}
