/**
 * The periodic sweep: catches online members up on what online fan-out did not bring them (a
 * skipped fan-out, a link that was down, a gate that lost the frame). For the groups this node
 * handled recently it finds online members whose cursor is behind the group's head and pushes
 * them the messages past their cursor that are older than the grace period (younger ones may
 * still be on their way or not yet acknowledged). A group whose members are behind but none online
 * stays in the set until its horizon, since a presence view can be out of date for a while (a
 * cached entry; a gate's liveness that lapsed; an entry a failover lost, until the gate's presence
 * refresh) and a member seen online later must still be caught up; such a group is visited less
 * and less often (the delay doubles from one interval up to IDLE_MAX_INTERVALS intervals), so idle
 * groups cost few presence reads. A visit also notes the group's head and when it read it; once a
 * note is older than the grace period, members at or past that head are behind only by messages
 * too young to push, and cost no presence lookup and no log read (in a busy, healthy group that is
 * every member, acks lag by a second or so). Such a member's messages that turn old enough
 * between two notes wait for a later visit: at most one more interval or a quarter of the grace
 * period. Gates drop duplicates per connection, so
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

/** The longest delay between visits of a group whose members behind all look offline, in intervals. */
export const IDLE_MAX_INTERVALS = 8;

/** Head notes kept per grace period (so per group, a few more than this at most). */
const NOTES_PER_GRACE = 4;

/** A group's head, read at `atMs` (this node's clock): every message up to it was stored by then. */
interface HeadNote {
  atMs: number;
  head: number;
}

/** When a group whose members behind all looked offline is visited next, and the delay before that. */
interface IdleState {
  dueMs: number;
  delayMs: number;
}

export class Sweep {
  readonly groups: RecentGroups;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  private readonly log: Logger;
  /** Groups with members behind but none of them online: when they are visited next. */
  private readonly idle = new Map<string, IdleState>();
  /** Per group, its heads as read by the visits since the newest one older than the grace period (a few). */
  private readonly heads = new Map<string, HeadNote[]>();
  /** The first delay before such a group is visited again (one interval, at least 1 s). */
  private readonly idleBaseMs: number;

  constructor(
    private readonly deps: SweepDeps,
    private readonly opts: SweepOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.groups = new RecentGroups(opts.sweepMaxGroups);
    this.log = deps.log;
    this.idleBaseMs = Math.max(opts.sweepIntervalMs, 1000);
  }

  /** Note that `groupId` had a message through this node. */
  touch(groupId: string): void {
    this.groups.touch(groupId, this.now());
    this.idle.delete(groupId);
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
    const notDue = (groupId: string) => (this.idle.get(groupId)?.dueMs ?? 0) > now;
    const groups = this.groups.next(this.opts.sweepGroupsPerTick, now - this.opts.sweepHorizonMs, notDue);
    for (const perGroup of [this.idle, this.heads]) if (perGroup.size > this.groups.size) for (const g of perGroup.keys()) if (!this.groups.has(g)) perGroup.delete(g);
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
    // Messages up to `pushable` are older than the grace period (the whole head while no note is old enough).
    const pushable = this.noteHead(groupId, this.now(), head, now - this.opts.sweepGraceMs) ?? head;
    const cursorOf = (userId: string) => Math.max(stored.get(userId) ?? 0, this.deps.cursors.pendingSeq(groupId, userId));
    let backlog = 0;
    let old = 0;
    for (const userId of members) {
      const cursor = cursorOf(userId);
      backlog += Math.min(Math.max(0, head - cursor), this.opts.logCap);
      if (cursor < pushable) old++;
    }
    if (backlog === 0) return this.done(groupId, 0);
    // Behind only by messages too young to push: nothing to look up or read until a later visit.
    if (old === 0) return { read: 0, bytes: 0, pushed: 0, backlog };
    const { devices, readAtMs } = await this.deps.presence.lookup(members);
    this.deps.metrics.presenceAge.observe(Math.max(0, this.now() - readAtMs) / 1000);
    // Members are behind but none of them looks online: the group stays in the set (this presence
    // view can be out of date, and a member seen online on a later visit must still be caught
    // up), visited less and less often, so idle groups cost few presence reads.
    if (devices.size === 0) return this.idled(groupId, now, backlog);
    const behind = new Map<number, string[]>();
    for (const userId of devices.keys()) {
      const cursor = cursorOf(userId);
      if (cursor >= pushable) continue;
      let users = behind.get(cursor);
      if (!users) behind.set(cursor, (users = []));
      users.push(userId);
    }
    if (behind.size === 0) return this.idled(groupId, now, backlog);
    this.idle.delete(groupId);
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

  /**
   * Note that `head` was read at `atMs`; resolves to the newest noted head read at or before
   * `cutoffMs` (null when none is that old) and forgets the notes before that one.
   */
  private noteHead(groupId: string, atMs: number, head: number, cutoffMs: number): number | null {
    let notes = this.heads.get(groupId);
    if (!notes) this.heads.set(groupId, (notes = []));
    // Notes at least a quarter of the grace period apart: a handful per group whatever the interval.
    const last = notes[notes.length - 1];
    if (last === undefined || atMs - last.atMs >= this.opts.sweepGraceMs / NOTES_PER_GRACE) notes.push({ atMs, head });
    let newestOld = -1;
    for (let i = 0; i < notes.length && (notes[i] as HeadNote).atMs <= cutoffMs; i++) newestOld = i;
    if (newestOld < 0) return null;
    if (newestOld > 0) notes.splice(0, newestOld);
    return (notes[0] as HeadNote).head;
  }

  /** Nobody is behind: the group leaves the sweep set until its next message. */
  private done(groupId: string, backlog: number): GroupSweep {
    this.groups.forget(groupId);
    this.idle.delete(groupId);
    this.heads.delete(groupId);
    return { read: 0, bytes: 0, pushed: 0, backlog };
  }

  /** Members are behind, none of them online now: nothing to push; the next visit waits twice as long as the last (at most IDLE_MAX_INTERVALS intervals). */
  private idled(groupId: string, now: number, backlog: number): GroupSweep {
    const last = this.idle.get(groupId)?.delayMs;
    const delayMs = last === undefined ? this.idleBaseMs : Math.min(2 * last, IDLE_MAX_INTERVALS * this.idleBaseMs);
    this.idle.set(groupId, { dueMs: now + delayMs, delayMs });
    return { read: 0, bytes: 0, pushed: 0, backlog };
  }

  /** The delay before the next visit of a group whose members behind all looked offline; null when it is not such a group. For tests and diagnostics. */
  idleDelayMs(groupId: string): number | null {
    return this.idle.get(groupId)?.delayMs ?? null;
  }
}
