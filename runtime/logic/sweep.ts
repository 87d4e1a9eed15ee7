/**
 * The periodic sweep: catches online members up on what online fan-out did not bring them (a
 * skipped fan-out, a link that was down, a gate that lost the frame). For the groups this node
 * handled recently it finds online members whose cursor is behind the group's head and pushes
 * them the messages past their cursor that are older than the grace period (younger ones may
 * still be on their way or not yet acknowledged). A group whose members are behind but none online
 * stays in the set for two session-cache TTLs more, so a member whose presence was not visible on
 * one tick (an out-of-date view) is caught up on a later one. Gates drop duplicates per connection, so
 * pushing the same message again is harmless. Every tick is bounded in groups, messages and
 * bytes read (IMGROUP_SWEEP_MAX_BYTES_PER_TICK; at most IMGROUP_SYNC_PAGE_BYTES per group).
 */
import type { Logger } from 'pino';
import type { Device, PresenceReader } from '../presence/presence.js';
import { keys } from '../redis/keys.js';
import { ProtocolError } from '../protocol/errors.js';
import { isRetryableRedisError } from '../redis/redis-errors.js';
import type { RedisStore } from '../redis/redis-store.js';
import type { CursorWriter } from './cursor-writer.js';
import { parseCursorHash } from './cursors.js';
import type { GateDelivery } from './gate-delivery.js';
import { toCount, valueOf } from './batch-replies.js';
import type { LogRead, LogReader } from './log-reader.js';
import type { LogicMetrics } from './logic-metrics.js';
import type { MemberCache } from './member-cache.js';
import { RecentGroups } from './recent-groups.js';
import type { StorageHealth } from './storage-health.js';

export interface SweepDeps {
  store: RedisStore;
  /** Reads the logs past the cursors, byte-bounded and within the node's read budget. */
  reader: LogReader;
  members: MemberCache;
  presence: PresenceReader;
  /** For acks held back in memory: a member's cursor is the larger of Redis' and the writer's. */
  cursors: CursorWriter;
  delivery: GateDelivery;
  metrics: LogicMetrics;
  log: Logger;
  /** Told about transient Redis failures (a failover is logged there, once). */
  health: Pick<StorageHealth, 'failed'>;
}

export interface SweepOptions {
  /** 0 disables the timer (tick() can still be called). */
  sweepIntervalMs: number;
  /** The session cache's TTL: how long the presence the sweep reads may be out of date (0: not cached). */
  sessionTtlMs: number;
  sweepGraceMs: number;
  sweepHorizonMs: number;
  sweepMaxGroups: number;
  sweepGroupsPerTick: number;
  sweepMaxMessagesPerTick: number;
  sweepMaxBytesPerTick: number;
  /** Bytes read for one group at most (in one or a few passes). */
  syncPageBytes: number;
  deliverBatchMax: number;
  /** A member's backlog is counted up to this many messages (no more are retained). */
  logCap: number;
}

interface GroupSweep {
  read: number;
  bytes: number;
  pushed: number;
  /** Messages the group's members have not acknowledged. */
  backlog: number;
}

export class Sweep {
  readonly groups: RecentGroups;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  private readonly log: Logger;
  /** Groups with members behind but none of them online: since when (ms). */
  private readonly idleSince = new Map<string, number>();
  /** How long such a group is still visited: its presence view may be out of date for one cache TTL. */
  private readonly idleKeepMs: number;

  constructor(
    private readonly deps: SweepDeps,
    private readonly opts: SweepOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.groups = new RecentGroups(opts.sweepMaxGroups);
    this.log = deps.log;
    this.idleKeepMs = 2 * opts.sessionTtlMs + Math.max(opts.sweepIntervalMs, 1000);
  }

  /** Note that `groupId` had a message through this node. */
  touch(groupId: string): void {
    this.groups.touch(groupId, this.now());
    this.idleSince.delete(groupId);
  }

  start(): void {
    if (this.opts.sweepIntervalMs === 0 || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      void this.tick().catch((err: unknown) => this.log.warn({ err }, 'sweep tick failed'));
    }, this.opts.sweepIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
  }

  /** One sweep pass; resolves to the number of (message, user) pushes. Concurrent calls share one pass. */
  tick(): Promise<number> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<number> {
    const now = this.now();
    const groups = this.groups.next(this.opts.sweepGroupsPerTick, now - this.opts.sweepHorizonMs);
    if (this.idleSince.size > this.groups.size) for (const g of this.idleSince.keys()) if (!this.groups.has(g)) this.idleSince.delete(g);
    let budget = this.opts.sweepMaxMessagesPerTick;
    let bytesLeft = this.opts.sweepMaxBytesPerTick;
    let pushed = 0;
    let backlog = 0;
    for (const groupId of groups) {
      if (budget <= 0 || bytesLeft <= 0) break;
      try {
        const r = await this.sweepGroup(groupId, now, budget, Math.min(bytesLeft, this.opts.syncPageBytes));
        budget -= r.read;
        bytesLeft -= r.bytes;
        pushed += r.pushed;
        backlog += r.backlog;
      } catch (err) {
        if (err instanceof ProtocolError) {
          // The node's read budget is taken (by syncs and logins): the rest waits for a later tick.
          this.log.debug({ err: err.message, groupId }, 'sweep tick cut short');
          break;
        }
        if (isRetryableRedisError(err)) this.deps.health.failed(err, 'sweep');
        else this.log.warn({ err, groupId }, 'sweep of a group failed; retried on a later tick');
      }
    }
    this.deps.metrics.offlineBacklog.set(backlog);
    if (pushed > 0) this.log.debug({ groups: groups.length, pushed }, 'sweep pushed backlog');
    return pushed;
  }

  private async sweepGroup(groupId: string, now: number, budget: number, bytesBudget: number): Promise<GroupSweep> {
    const [seqReply, cursorsReply] = await this.deps.store.batch([
      ['get', keys.groupSeq(groupId)],
      ['hgetall', keys.groupCursors(groupId)],
    ]);
    const head = toCount(valueOf(seqReply));
    const stored = parseCursorHash(valueOf(cursorsReply));
    const members = await this.deps.members.members(groupId);
    if (head === 0 || members.length === 0) return this.done(groupId, 0);
    const cursorOf = (userId: string) => Math.max(stored.get(userId) ?? 0, this.deps.cursors.pendingSeq(groupId, userId));
    let backlog = 0;
    for (const userId of members) backlog += Math.min(Math.max(0, head - cursorOf(userId)), this.opts.logCap);
    if (backlog === 0) return this.done(groupId, 0);
    const { devices, readAtMs } = await this.deps.presence.lookup(members);
    this.deps.metrics.presenceAge.observe(Math.max(0, this.now() - readAtMs) / 1000);
    // Members are behind but none of them looks online: the group stays in the set for a while,
    // since this presence view can be out of date (a cached entry, for up to the cache's TTL; a
    // gate registration that expired during a Redis pause) and a member seen online on a later
    // visit must still be caught up. After two TTLs of that it leaves the set (offline members
    // get their backlog by login replay), so idle groups stop costing presence reads.
    if (devices.size === 0) return this.idle(groupId, now, backlog);
    const behind = new Map<number, string[]>();
    for (const userId of devices.keys()) {
      const cursor = cursorOf(userId);
      if (cursor >= head) continue;
      let users = behind.get(cursor);
      if (!users) behind.set(cursor, (users = []));
      users.push(userId);
    }
    if (behind.size === 0) return this.idle(groupId, now, backlog);
    this.idleSince.delete(groupId);
    const plan: Array<{ users: string[]; read: LogRead }> = [];
    let left = budget;
    for (const cursor of [...behind.keys()].sort((a, b) => a - b)) {
      if (left <= 0) break;
      const count = Math.min(this.opts.deliverBatchMax, left, head - cursor);
      plan.push({ users: behind.get(cursor) as string[], read: { groupId, memberCheck: null, afterSeq: cursor, maxCount: count } });
      left -= count;
    }
    const { results, bytes } = await this.deps.reader.read(
      plan.map((p) => p.read),
      { budgetBytes: bytesBudget, oversize: true, path: 'sweep' },
    );
    const cutoff = now - this.opts.sweepGraceMs;
    let read = 0;
    let pushed = 0;
    plan.forEach((p, i) => {
      const entries = results[i]?.messages ?? [];
      read += entries.length;
      const old = entries.filter((m) => m.ts <= cutoff);
      if (old.length === 0) return;
      const subset = new Map<string, Device[]>();
      for (const u of p.users) subset.set(u, devices.get(u) as Device[]);
      pushed += this.deps.delivery.toUsers(groupId, old, subset, 'sweep') * old.length;
    });
    return { read: Math.max(read, 1), bytes, pushed, backlog };
  }

  /** Nobody is behind (or nobody online has been for idleKeepMs): the group leaves the sweep set until its next message. */
  private done(groupId: string, backlog: number): GroupSweep {
    this.groups.forget(groupId);
    this.idleSince.delete(groupId);
    return { read: 0, bytes: 0, pushed: 0, backlog };
  }

  /** Members are behind, none of them online now: nothing to push; the group stays until idleKeepMs. */
  private idle(groupId: string, now: number, backlog: number): GroupSweep {
    const since = this.idleSince.get(groupId);
    if (since === undefined) this.idleSince.set(groupId, now);
    else if (now - since >= this.idleKeepMs) return this.done(groupId, backlog);
    return { read: 0, bytes: 0, pushed: 0, backlog };
  }
}
