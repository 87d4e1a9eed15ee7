/**
 * Per-group receive state: what the app has been given, what is held back, what is missing.
 *
 * The cursor turns messages that arrive in any order, possibly twice, into a stream delivered to
 * the app in seq order, each seq once. Its memory is bounded: the highest contiguous delivered seq,
 * the highest seq seen, and at most `maxHeld` messages above a gap. A message that arrives while the
 * held set is full is dropped, not lost: `highestSeen` still covers it, so the gap fill fetches it.
 *
 * Pure state, no I/O: the client asks `nextSyncRange()` what to fetch and feeds the result back.
 */
import type { ChatMessage } from '../protocol/client-frames.js';

export interface SyncRange {
  /** Ask for messages with seq > afterSeq … */
  afterSeq: number;
  /** … at most this many (the size of the missing range, capped by the page limit). */
  limit: number;
}

const NOTHING: readonly ChatMessage[] = Object.freeze([]);

export class GroupCursor {
  /** Every seq up to this one was delivered or is known to be gone; null until the first message. */
  private delivered: number | null;
  /** Highest seq the client has heard of (delivered, held or dropped). */
  private highestSeen: number;
  /** Messages above a gap, by seq; null while there is none (most groups, most of the time). */
  private held: Map<number, ChatMessage> | null = null;
  /** Highest seq acknowledged to the gate (or seeded by the app). */
  acked: number;
  /** True while a gap fill (a chain of sync requests) runs for this group. */
  syncing = false;

  /**
   * @param maxHeld most messages held back above a gap.
   * @param lastSeq seq the app already has (from `setLastSeq`), or null: then the first message
   *   that arrives sets the baseline and is delivered, whatever its seq.
   */
  constructor(
    private readonly maxHeld: number,
    lastSeq: number | null,
  ) {
    this.delivered = lastSeq;
    this.highestSeen = lastSeq ?? 0;
    this.acked = lastSeq ?? 0;
  }

  /** Highest contiguous seq delivered to the app, or null before the first message. */
  get lastSeq(): number | null {
    return this.delivered;
  }

  get heldCount(): number {
    return this.held?.size ?? 0;
  }

  /** True when seqs between the delivered ones and the highest seen are missing. */
  hasGap(): boolean {
    return this.delivered !== null && this.highestSeen > this.delivered;
  }

  /** Seed or move the cursor: the app has everything up to `seq`. */
  reset(seq: number): void {
    this.delivered = seq;
    this.acked = seq;
    this.highestSeen = seq;
    if (this.held === null) return;
    for (const s of this.held.keys()) {
      if (s <= seq) this.held.delete(s);
      else if (s > this.highestSeen) this.highestSeen = s;
    }
    if (this.held.size === 0) this.held = null;
  }

  /** Take one message from the wire; returns the messages now deliverable, in seq order. */
  offer(message: ChatMessage): readonly ChatMessage[] {
    if (this.delivered === null) {
      this.delivered = message.seq - 1;
      this.acked = this.delivered;
    }
    if (message.seq <= this.delivered) return NOTHING;
    if (message.seq > this.highestSeen) this.highestSeen = message.seq;
    if (message.seq === this.delivered + 1) {
      this.delivered = message.seq;
      const out = [message];
      this.drain(out);
      return out;
    }
    if (this.held?.has(message.seq) === true || this.heldCount >= this.maxHeld) return NOTHING;
    (this.held ??= new Map()).set(message.seq, message);
    return NOTHING;
  }

  /** The next range to fetch to close the gap, or null when there is no gap. */
  nextSyncRange(pageLimit: number): SyncRange | null {
    if (this.delivered === null || !this.hasGap()) return null;
    const missingEnd = this.held === null ? this.highestSeen : this.lowestHeld() - 1;
    return { afterSeq: this.delivered, limit: Math.max(1, Math.min(pageLimit, missingEnd - this.delivered)) };
  }

  /**
   * Apply one page of a gap-fill sync for messages after `afterSeq`. Seqs between `afterSeq` and the
   * first returned message are not in the log any more (trimmed), so they are skipped. A page that
   * brings no progress means the missing range cannot be fetched: the cursor moves past it to what
   * it holds. Either way every call moves the cursor forward or closes the gap, so a gap fill ends.
   */
  applySyncPage(afterSeq: number, messages: readonly ChatMessage[]): readonly ChatMessage[] {
    if (this.delivered === null) this.delivered = afterSeq;
    const before = this.delivered;
    const out: ChatMessage[] = [];
    const first = messages[0];
    if (first !== undefined && afterSeq === this.delivered && first.seq > this.delivered + 1) {
      this.skipTo(first.seq - 1, out);
    }
    for (const m of messages) {
      for (const d of this.offer(m)) out.push(d);
    }
    if (this.delivered === before && this.hasGap()) {
      this.skipTo(this.held === null ? this.highestSeen : this.lowestHeld() - 1, out);
    }
    return out;
  }

  /** The gap cannot be filled (the sync failed): deliver what is held, in order, and move past. */
  giveUp(): readonly ChatMessage[] {
    if (this.delivered === null || !this.hasGap()) return NOTHING;
    const out: ChatMessage[] = [];
    this.skipTo(this.highestSeen, out);
    return out;
  }

  private lowestHeld(): number {
    let lowest = this.highestSeen + 1;
    for (const s of this.held!.keys()) if (s < lowest) lowest = s;
    return lowest;
  }

  /** Deliver held messages up to `target` in order, mark everything up to `target` as done. */
  private skipTo(target: number, out: ChatMessage[]): void {
    if (this.delivered === null || target <= this.delivered) return;
    if (this.held !== null) {
      const below = [...this.held.keys()].filter((s) => s <= target).sort((a, b) => a - b);
      for (const s of below) {
        out.push(this.held.get(s)!);
        this.held.delete(s);
      }
    }
    this.delivered = target;
    this.drain(out);
  }

  /** Move held messages that have become contiguous to `out`. */
  private drain(out: ChatMessage[]): void {
    if (this.held === null) return;
    let next = this.held.get(this.delivered! + 1);
    while (next !== undefined) {
      this.held.delete(next.seq);
      this.delivered = next.seq;
      out.push(next);
      next = this.held.get(next.seq + 1);
    }
    if (this.held.size === 0) this.held = null;
  }
}
