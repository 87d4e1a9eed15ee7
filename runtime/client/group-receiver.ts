/**
 * The receive side of the client: one `GroupCursor` per group, coalesced cumulative acks, and gap
 * fills (chains of `sync` requests) for groups with missing seqs.
 *
 * - Every message reaches the app once, in seq order per group (`deliver`).
 * - Acks: after `ackDelayMs`, one `ack` per group that advanced, carrying its highest contiguous
 *   delivered seq. Acks that cannot be written (disconnected) wait for `resume()`. A duplicate of
 *   a delivered message means the gate's cursor is behind: the group is acked again.
 * - Gaps: a message above `lastSeq + 1` is held back and the missing range is fetched page by page;
 *   when fetching fails for good, the held messages are delivered anyway (`onGapAbandoned` says so).
 */
import type { ChatMessage } from '../protocol/client-frames.js';
import { ClientError, ClientErrorCode } from './client-errors.js';
import { GroupCursor } from './group-cursor.js';

export interface GroupReceiverOptions {
  maxHeldPerGroup: number;
  syncPageLimit: number;
  ackDelayMs: number;
  /** Hands one message to the app. */
  deliver: (message: ChatMessage) => void;
  /** Fetches messages after `afterSeq` (a `sync` request); rejects when it fails for good. */
  fetch: (groupId: string, afterSeq: number, limit: number) => Promise<{ messages: readonly ChatMessage[] }>;
  /** Writes an `ack`; returns false when the connection is not ready. */
  sendAck: (groupId: string, seq: number) => boolean;
  /** Whether the connection is ready for requests. */
  isReady: () => boolean;
  /** A gap could not be filled; the messages around it were delivered without it. */
  onGapAbandoned: (groupId: string, err: unknown) => void;
}

export class GroupReceiver {
  private readonly cursors = new Map<string, GroupCursor>();
  private readonly unacked = new Set<string>();
  private ackTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: GroupReceiverOptions) {}

  /** Groups the receiver tracks. */
  get groupCount(): number {
    return this.cursors.size;
  }

  /** Highest contiguous seq delivered for the group, or null when none was delivered or seeded. */
  lastSeq(groupId: string): number | null {
    return this.cursors.get(groupId)?.lastSeq ?? null;
  }

  /** Messages held back above a gap in the group. */
  heldCount(groupId: string): number {
    return this.cursors.get(groupId)?.heldCount ?? 0;
  }

  /** The app already has every message of the group up to `seq` (e.g. from its own storage). */
  setLastSeq(groupId: string, seq: number): void {
    const cursor = this.cursors.get(groupId);
    if (cursor === undefined) {
      this.cursors.set(groupId, new GroupCursor(this.options.maxHeldPerGroup, seq));
      return;
    }
    cursor.reset(seq);
    this.unacked.delete(groupId);
  }

  /** A `msg` frame arrived. */
  receive(message: ChatMessage): void {
    let cursor = this.cursors.get(message.groupId);
    if (cursor === undefined) {
      cursor = new GroupCursor(this.options.maxHeldPerGroup, null);
      this.cursors.set(message.groupId, cursor);
    }
    const lastSeq = cursor.lastSeq;
    if (lastSeq !== null && message.seq <= lastSeq) {
      // The gate sends what the client already has: its cursor is behind (a lost ack, or the app
      // seeded its own last seq). Ack again so the gate's cursor catches up.
      cursor.acked = Math.min(cursor.acked, message.seq - 1);
      this.unacked.add(message.groupId);
      this.scheduleAcks();
      return;
    }
    this.deliver(message.groupId, cursor.offer(message));
    if (cursor.hasGap()) void this.fillGap(message.groupId, cursor);
  }

  /** The connection is (again) ready: write waiting acks, restart interrupted gap fills. */
  resume(): void {
    if (this.unacked.size > 0) this.scheduleAcks();
    for (const [groupId, cursor] of this.cursors) {
      if (cursor.hasGap()) void this.fillGap(groupId, cursor);
    }
  }

  /** Write every waiting ack now (e.g. before the app closes the connection). */
  flushAcks(): void {
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (!this.options.isReady()) return;
    for (const groupId of this.unacked) {
      const cursor = this.cursors.get(groupId);
      const seq = cursor?.lastSeq ?? null;
      if (cursor === undefined || seq === null || seq <= cursor.acked) {
        this.unacked.delete(groupId);
        continue;
      }
      if (!this.options.sendAck(groupId, seq)) return;
      cursor.acked = seq;
      this.unacked.delete(groupId);
    }
  }

  /** Stop the ack timer (the client closed). Cursors stay: a later connect resumes from them. */
  stop(): void {
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
  }

  private deliver(groupId: string, messages: readonly ChatMessage[]): void {
    if (messages.length === 0) return;
    for (const m of messages) this.options.deliver(m);
    this.unacked.add(groupId);
    this.scheduleAcks();
  }

  private scheduleAcks(): void {
    if (this.ackTimer !== null) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      this.flushAcks();
    }, this.options.ackDelayMs);
  }

  /** Fetch the group's missing ranges page by page until the gap is closed. One chain per group. */
  private async fillGap(groupId: string, cursor: GroupCursor): Promise<void> {
    if (cursor.syncing || !this.options.isReady()) return;
    cursor.syncing = true;
    try {
      for (;;) {
        if (!this.options.isReady() || this.cursors.get(groupId) !== cursor) return;
        const range = cursor.nextSyncRange(this.options.syncPageLimit);
        if (range === null) return;
        let page: { messages: readonly ChatMessage[] };
        try {
          page = await this.options.fetch(groupId, range.afterSeq, range.limit);
        } catch (err) {
          // The client closed: keep what is held; a later connect resumes the fill.
          if (err instanceof ClientError && err.code === ClientErrorCode.CLOSED) return;
          this.deliver(groupId, cursor.giveUp());
          this.options.onGapAbandoned(groupId, err);
          return;
        }
        this.deliver(groupId, cursor.applySyncPage(range.afterSeq, page.messages));
      }
    } finally {
      cursor.syncing = false;
    }
  }
}
