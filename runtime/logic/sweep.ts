/**
 * The periodic sweep: catches online members up on what online fan-out did not bring them (a
 * skipped fan-out, a link that was down, a gate that lost the frame). For the groups this node
 * handled recently it finds online members whose cursor is behind the group's head and pushes
 * them the messages past their cursor that are older than the grace period (younger ones may
 * still be on their way or not yet acknowledged). Gates drop duplicates per connection, so
 * pushing the same message again is harmless. Every tick is bounded in groups and messages.
 */
import type { Logger } from 'pino';
import type { Device, PresenceReader } from '../presence/presence.js';
import { keys } from '../redis/keys.js';
import { isRetryableRedisError } from '../redis/redis-errors.js';
import type { BatchCommand, RedisStore } from '../redis/redis-store.js';
import type { CursorWriter } from './cursor-writer.js';
import { parseCursorHash } from './cursors.js';
import type { GateDelivery } from './gate-delivery.js';
import { throwFirst, toCount, valueOf } from './batch-replies.js';
import type { LogicMetrics } from './logic-metrics.js';
import type { MemberCache } from './member-cache.js';
import { parseEntries, rangeCommand } from './message-log.js';
import { RecentGroups } from './recent-groups.js';
import type { StorageHealth } from './storage-health.js';

export interface SweepDeps {
  store: RedisStore;
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
  sweepGraceMs: number;
  sweepHorizonMs: number;
  sweepMaxGroups: number;
  sweepGroupsPerTick: number;
  sweepMaxMessagesPerTick: number;
  deliverBatchMax: number;
  /** A member's backlog is counted up to this many messages (no more are retained). */
  logCap: number;
}

interface GroupSweep {
  read: number;
  pushed: number;
  /** Messages the group's members have not acknowledged. */
  backlog: number;
}

export class Sweep {
  readonly groups: RecentGroups;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  private readonly log: Logger;

  constructor(
    private readonly deps: SweepDeps,
    private readonly opts: SweepOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.groups = new RecentGroups(opts.sweepMaxGroups);
    this.log = deps.log;
  }

  /** Note that `groupId` had a message through this node. */
  touch(groupId: string): void {
    this.groups.touch(groupId, this.now());
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
    let budget = this.opts.sweepMaxMessagesPerTick;
    let pushed = 0;
    let backlog = 0;
    for (const groupId of groups) {
      if (budget <= 0) break;
      try {
        const r = await this.sweepGroup(groupId, now, budget);
        budget -= r.read;
        pushed += r.pushed;
        backlog += r.backlog;
      } catch (err) {
        if (isRetryableRedisError(err)) this.deps.health.failed(err, 'sweep');
        else this.log.warn({ err, groupId }, 'sweep of a group failed; retried on a later tick');
      }
    }
    this.deps.metrics.offlineBacklog.set(backlog);
    if (pushed > 0) this.log.debug({ groups: groups.length, pushed }, 'sweep pushed backlog');
    return pushed;
  }

  private async sweepGroup(groupId: string, now: number, budget: number): Promise<GroupSweep> {
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
    if (devices.size === 0) return this.done(groupId, backlog);
    const behind = new Map<number, string[]>();
    for (const userId of devices.keys()) {
      const cursor = cursorOf(userId);
      if (cursor >= head) continue;
      let users = behind.get(cursor);
      if (!users) behind.set(cursor, (users = []));
      users.push(userId);
    }
    if (behind.size === 0) return this.done(groupId, backlog);
    const plan: Array<{ cursor: number; users: string[]; command: BatchCommand }> = [];
    let left = budget;
    for (const cursor of [...behind.keys()].sort((a, b) => a - b)) {
      if (left <= 0) break;
      const count = Math.min(this.opts.deliverBatchMax, left, head - cursor);
      const command = rangeCommand(groupId, cursor, count);
      if (!command) continue;
      plan.push({ cursor, users: behind.get(cursor) as string[], command });
      left -= count;
    }
    const logs = await this.deps.store.batch(plan.map((p) => p.command));
    throwFirst(logs);
    const cutoff = now - this.opts.sweepGraceMs;
    let read = 0;
    let pushed = 0;
    plan.forEach((p, i) => {
      const entries = parseEntries(groupId, logs[i]?.[1]);
      read += entries.length;
      const old = entries.filter((m) => m.ts <= cutoff);
      if (old.length === 0) return;
      const subset = new Map<string, Device[]>();
      for (const u of p.users) subset.set(u, devices.get(u) as Device[]);
      pushed += this.deps.delivery.toUsers(groupId, old, subset, 'sweep') * old.length;
    });
    return { read: Math.max(read, 1), pushed, backlog };
  }

  /** Nobody online is behind: the group leaves the sweep set until its next message. */
  private done(groupId: string, backlog: number): GroupSweep {
    this.groups.forget(groupId);
    return { read: 0, pushed: 0, backlog };
  }
}
