/**
 * Coalesced cursor writes: an ack only records the latest acked seq per (group, member) in
 * memory; every `cursorFlushMs` the recorded cursors are written with ONE script call per group
 * (carrying all its members' cursors, see cursor-writer.ts), the calls pipelined per master. The
 * cost of acks per message therefore falls as the message rate rises: 100 members acking 10
 * messages within one interval cost one call, not 1,000.
 *
 * Bounds: at most `cursorPendingMax` (group, member) cursors are held; reaching it starts a flush
 * at once. A failed write puts its cursors back (if there is room) for the next flush; cursors
 * that do not fit are dropped and counted (`imgroup_logic_acks_total{result="error"}`): clients
 * ack cumulatively, so a later ack repairs it, and meanwhile the messages are delivered again.
 *
 * A crash loses at most one interval of cursor progress: re-deliveries (which clients and gates
 * drop as duplicates), never a lost message.
 */
import type { Logger } from 'pino';
import type { RedisStore, ScriptCall } from '../redis/redis-store.js';
import { type CursorWriter, cursorWriteCalls } from './cursor-writer.js';
import type { LogicMetrics } from './logic-metrics.js';

export interface CoalescingCursorWriterOptions {
  cursorFlushMs: number;
  cursorPendingMax: number;
}

/** Warnings about failed flushes are logged at most this often. */
const WARN_EVERY_MS = 10_000;

export class CoalescingCursorWriter implements CursorWriter {
  /** groupId → userId → highest acked seq not written yet (at most 2 × cursorPendingMax while writes fail). */
  private pending = new Map<string, Map<string, number>>();
  private held = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastWarnMs = 0;

  constructor(
    private readonly store: RedisStore,
    private readonly metrics: LogicMetrics,
    private readonly log: Logger,
    private readonly opts: CoalescingCursorWriterOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.flushing && this.held > 0) void this.flush();
    }, this.opts.cursorFlushMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Rejects only when even the hard bound (2 × cursorPendingMax) is reached (Redis is failing). */
  async ack(userId: string, groupId: string, seq: number): Promise<void> {
    if (!this.record(groupId, userId, seq)) throw new Error(`more than ${2 * this.opts.cursorPendingMax} cursors waiting to be written; ack dropped`);
    if (this.held >= this.opts.cursorPendingMax && !this.flushing) void this.flush();
  }

  pendingSeq(groupId: string, userId: string): number {
    return this.pending.get(groupId)?.get(userId) ?? 0;
  }

  forget(groupId: string, userIds: readonly string[]): void {
    const users = this.pending.get(groupId);
    if (!users) return;
    for (const u of userIds) if (users.delete(u)) this.held--;
    if (users.size === 0) this.pending.delete(groupId);
  }

  /** Cursors held now (for tests and shutdown logs). */
  get size(): number {
    return this.held;
  }

  /** Write everything held now (waits for a flush already running, then writes what came meanwhile). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.held === 0) return;
    this.flushing = this.writeOut().finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  private record(groupId: string, userId: string, seq: number): boolean {
    const users = this.pending.get(groupId);
    const current = users?.get(userId);
    if (users && current !== undefined) {
      if (seq > current) users.set(userId, seq);
      return true;
    }
    if (this.held >= this.opts.cursorPendingMax * 2) return false;
    if (users) users.set(userId, seq);
    else this.pending.set(groupId, new Map([[userId, seq]]));
    this.held++;
    return true;
  }

  private async writeOut(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.held = 0;
    const calls: ScriptCall[] = [];
    const owners: Array<{ groupId: string; users: Map<string, number> }> = [];
    for (const [groupId, users] of batch) {
      for (const call of cursorWriteCalls(groupId, users)) {
        calls.push(call);
        owners.push({ groupId, users });
      }
    }
    const replies = await this.store.scripts(calls);
    const failed = new Set<{ groupId: string; users: Map<string, number> }>();
    replies.forEach(([err], i) => {
      if (err) failed.add(owners[i] as { groupId: string; users: Map<string, number> });
    });
    if (failed.size === 0) return;
    let dropped = 0;
    for (const { groupId, users } of failed) {
      for (const [userId, seq] of users) if (!this.record(groupId, userId, seq)) dropped++;
    }
    if (dropped > 0) this.metrics.acks.inc({ result: 'error' }, dropped);
    const err = replies.find(([e]) => e)?.[0];
    const now = Date.now();
    if (now - this.lastWarnMs < WARN_EVERY_MS) return;
    this.lastWarnMs = now;
    this.log.warn({ err, groups: failed.size, dropped }, 'cursor write failed; retried on the next flush (further failures within 10 s only counted)');
  }
}
