/**
 * Per-connection delivery order: a client sees the messages of each group in ascending seq,
 * each at most once.
 *
 * - The highest seq delivered per group is remembered; anything at or below it is a duplicate
 *   (sweep, replay, retries) and dropped. The first message of a group sets the baseline.
 * - A gap (seq > last + 1) of at most `maxGapFill` messages holds the newer messages and asks
 *   for the missing range to be fetched; `fillDone` then delivers in order. When the fetch fails,
 *   what is held is delivered as it is (the client's own gap detection syncs). Larger gaps, or
 *   gaps beyond `maxFills` concurrent fetches, are delivered as they are.
 * - Until the connection's login replay has finished, live deliveries are buffered (bounded;
 *   overflow is dropped: those messages stay behind the user's cursor and come back by replay,
 *   sweep or sync), so the backlog goes out first.
 *
 * Pure state, no I/O and no timers: each call returns an OrderStep that the connection carries
 * out (writes, drop counts, gap fetches). Maps are created lazily, so an idle connection costs a
 * few fields.
 */
import type { OrderedItem } from './ordered-item.js';

export type DropReason = 'duplicate' | 'overflow';

/** A range for the connection to fetch: seqs afterSeq+1 … afterSeq+limit of the group. */
export interface GapRequest {
  groupId: string;
  afterSeq: number;
  limit: number;
}

/**
 * What the order state decided, to be carried out in this order: write `write`, count `drops`,
 * fetch each of `fills` and pass its result to `fillDone`.
 */
export interface OrderStep {
  readonly write: readonly OrderedItem[];
  /** One reason per dropped message; null when none was dropped. */
  readonly drops: readonly DropReason[] | null;
  /** Null when no gap is to be fetched. */
  readonly fills: readonly GapRequest[] | null;
}

/** An OrderStep being built (the arrays that are rarely needed are created on first use). */
class Step implements OrderStep {
  readonly write: OrderedItem[] = [];
  drops: DropReason[] | null = null;
  fills: GapRequest[] | null = null;

  drop(reason: DropReason): void {
    (this.drops ??= []).push(reason);
  }

  fill(groupId: string, afterSeq: number, limit: number): void {
    (this.fills ??= []).push({ groupId, afterSeq, limit });
  }
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
   * Offer messages of one group, ascending by seq. `bypassLogin` is true for messages addressed
   * to this very connection (its login backlog), which must not wait for the login they belong to.
   */
  offer(groupId: string, items: readonly OrderedItem[], bypassLogin: boolean): OrderStep {
    const step = new Step();
    for (const item of items) {
      if (!this.loginPending || bypassLogin) {
        this.order(groupId, item, step);
        continue;
      }
      if (!this.loginBuffer) this.loginBuffer = [];
      if (this.loginBuffer.length >= this.limits.maxHeld) step.drop('overflow');
      else this.loginBuffer.push({ groupId, item });
    }
    return step;
  }

  /**
   * The common case, decided without building a step: a live message that is the next of its
   * group (or the group's first), with the login replay done and nothing of the group held. True:
   * it is taken (the caller writes it). False: nothing changed, and `offer` decides.
   */
  takeNext(groupId: string, seq: number): boolean {
    if (this.loginPending || this.fills?.has(groupId) === true) return false;
    const last = this.last?.get(groupId);
    if (last !== undefined && seq !== last + 1) return false;
    this.setLast(groupId, seq);
    return true;
  }

  /** The login replay was answered (a failed one is retried until it is): release what was buffered. */
  loginDone(): OrderStep {
    const step = new Step();
    if (!this.loginPending) return step;
    this.loginPending = false;
    const buffered = this.loginBuffer;
    this.loginBuffer = null;
    if (buffered) for (const b of buffered) this.order(b.groupId, b.item, step);
    return step;
  }

  /** A gap fetch finished: `fetched` are its messages, or null when it failed or timed out. */
  fillDone(groupId: string, fetched: readonly OrderedItem[] | null): OrderStep {
    const step = new Step();
    const held = this.fills?.get(groupId);
    if (!held) return step;
    this.fills?.delete(groupId);
    let last = this.last?.get(groupId) ?? -1;
    let advanced = false;
    if (fetched) {
      for (const f of [...fetched].sort((a, b) => a.seq - b.seq)) {
        if (f.seq <= last) continue;
        step.write.push(f);
        last = f.seq;
        advanced = true;
      }
      if (advanced) this.setLast(groupId, last);
    }
    if (advanced) {
      // The gap is closed (or moved): newer held messages go through the normal rules again.
      for (const h of held) this.order(groupId, h, step);
      return step;
    }
    for (const h of held) {
      if (h.seq <= last) {
        step.drop('duplicate');
        continue;
      }
      step.write.push(h);
      last = h.seq;
    }
    if (last >= 0) this.setLast(groupId, last);
    return step;
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

  private order(groupId: string, item: OrderedItem, step: Step): void {
    const last = this.last?.get(groupId);
    if (last === undefined) {
      const held = this.fills?.get(groupId);
      if (held) {
        this.hold(held, item, step);
        return;
      }
      step.write.push(item);
      this.setLast(groupId, item.seq);
      return;
    }
    if (item.seq <= last) {
      step.drop('duplicate');
      return;
    }
    const held = this.fills?.get(groupId);
    if (item.seq === last + 1) {
      step.write.push(item);
      let next = item.seq;
      if (held) {
        while (held.length > 0 && (held[0] as OrderedItem).seq <= next + 1) {
          const h = held.shift() as OrderedItem;
          if (h.seq <= next) {
            step.drop('duplicate');
            continue;
          }
          step.write.push(h);
          next = h.seq;
        }
      }
      this.setLast(groupId, next);
      return;
    }
    if (held) {
      this.hold(held, item, step);
      return;
    }
    const gap = item.seq - last - 1;
    if (gap > this.limits.maxGapFill || (this.fills?.size ?? 0) >= this.limits.maxFills) {
      step.write.push(item);
      this.setLast(groupId, item.seq);
      return;
    }
    if (!this.fills) this.fills = new Map();
    this.fills.set(groupId, [item]);
    step.fill(groupId, last, gap);
  }

  /** Insert into an ascending held list, dropping duplicates and overflow. */
  private hold(held: OrderedItem[], item: OrderedItem, step: Step): void {
    let i = held.length;
    while (i > 0 && (held[i - 1] as OrderedItem).seq > item.seq) i--;
    if (i > 0 && (held[i - 1] as OrderedItem).seq === item.seq) {
      step.drop('duplicate');
      return;
    }
    if (held.length >= this.limits.maxHeld) {
      step.drop('overflow');
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
