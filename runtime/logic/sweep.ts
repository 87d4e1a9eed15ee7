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
import type { BatchCommand, RedisStore } from '../redis/redis-store.js';
import { cursorOf } from './cursors.js';
import type { GateDelivery } from './gate-delivery.js';
import { stringsOf, throwFirst, toCount, valueOf } from './batch-replies.js';
import { parseEntries, rangeCommand } from './message-log.js';
import { RecentGroups } from './recent-groups.js';

export interface SweepOptions {
  /** 0 disables the timer (tick() can still be called). */
  sweepIntervalMs: number;
  sweepGraceMs: number;
  sweepHorizonMs: number;
  sweepMaxGroups: number;
  sweepGroupsPerTick: number;
  sweepMaxMessagesPerTick: number;
  deliverBatchMax: number;
}

export class Sweep {
  readonly groups: RecentGroups;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly store: RedisStore,
    private readonly presence: PresenceReader,
    private readonly delivery: GateDelivery,
    private readonly log: Logger,
    private readonly opts: SweepOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.groups = new RecentGroups(opts.sweepMaxGroups);
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
    for (const groupId of groups) {
      if (budget <= 0) break;
      try {
        const r = await this.sweepGroup(groupId, now, budget);
        budget -= r.read;
        pushed += r.pushed;
      } catch (err) {
        this.log.warn({ err, groupId }, 'sweep of a group failed; retried on a later tick');
      }
    }
    if (pushed > 0) this.log.debug({ groups: groups.length, pushed }, 'sweep pushed backlog');
    return pushed;
  }

  private async sweepGroup(groupId: string, now: number, budget: number): Promise<{ read: number; pushed: number }> {
    const [seqReply, membersReply] = await this.store.batch([
      ['get', keys.groupSeq(groupId)],
      ['smembers', keys.groupMembers(groupId)],
    ]);
    const head = toCount(valueOf(seqReply));
    const members = stringsOf(valueOf(membersReply));
    if (head === 0 || members.length === 0) return this.done(groupId);
    const { devices } = await this.presence.lookup(members);
    if (devices.size === 0) return this.done(groupId);
    const online = [...devices.keys()];
    const cursorReplies = await this.store.batch(online.map((u): BatchCommand => ['hget', keys.userCursors(u), groupId]));
    throwFirst(cursorReplies);
    const behind = new Map<number, string[]>();
    online.forEach((userId, i) => {
      const cursor = cursorOf(cursorReplies[i]?.[1]);
      if (cursor >= head) return;
      let users = behind.get(cursor);
      if (!users) behind.set(cursor, (users = []));
      users.push(userId);
    });
    if (behind.size === 0) return this.done(groupId);
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
    const logs = await this.store.batch(plan.map((p) => p.command));
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
      pushed += this.delivery.toUsers(groupId, old, subset, 'sweep') * old.length;
    });
    return { read: Math.max(read, 1), pushed };
  }

  /** Nobody online is behind: the group leaves the sweep set until its next message. */
  private done(groupId: string): { read: number; pushed: number } {
    this.groups.forget(groupId);
    return { read: 0, pushed: 0 };
  }
}
