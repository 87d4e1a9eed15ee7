/**
 * Online fan-out of stored messages. Each group has a bounded queue worked by at most one task at
 * a time, so a group's messages go out in seq order; messages that pile up while a batch is on
 * its way go out together in the next frame (up to deliverBatchMax per frame).
 *
 * One batch: the group's members and their online devices come from the session cache (read from
 * Redis only on a miss; never by asking gates), then one deliver frame per linked gate names the
 * users on it (the sender's own devices included). That routing is kept per group (route-memo.ts)
 * and reused by the group's next batch while no member, presence entry or gate link changed. A full queue or a failed batch skips online delivery for those messages
 * only; the sweep, login replay and sync deliver them later.
 */
import type { Logger } from 'pino';
import type { ChatMessage } from '../protocol/client-frames.js';
import { isRetryableRedisError } from '../redis/redis-errors.js';
import type { GateDelivery, Routes } from './gate-delivery.js';
import type { GateLink } from './gate-links.js';
import type { LogicMetrics } from './logic-metrics.js';
import type { MemberCache } from './member-cache.js';
import type { PresenceCache } from './presence-cache.js';
import { RouteMemo } from './route-memo.js';
import type { StorageHealth } from './storage-health.js';

export interface FanoutOptions {
  deliverBatchMax: number;
  fanoutQueueMax: number;
  fanoutMaxPending: number;
  /** Routed users the route memo holds over all groups (0: route every batch afresh). */
  routeMemoMaxUsers: number;
}

/** A stored message waiting for fan-out, with when its request was accepted (performance.now()). */
export interface QueuedMessage {
  msg: ChatMessage;
  acceptedAt: number;
}

interface GroupQueue {
  /** Ascending by seq. */
  pending: QueuedMessage[];
  running: boolean;
}

export class Fanout {
  private readonly queues = new Map<string, GroupQueue>();
  private pendingTotal = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly routes: RouteMemo<Routes<GateLink>>;

  constructor(
    private readonly members: MemberCache,
    private readonly presence: Pick<PresenceCache, 'lookup' | 'changes' | 'now'>,
    private readonly delivery: GateDelivery,
    private readonly metrics: LogicMetrics,
    private readonly log: Logger,
    private readonly opts: FanoutOptions,
    /** Told about transient Redis failures (a failover is logged there, once). */
    private readonly health: Pick<StorageHealth, 'failed'>,
  ) {
    this.routes = new RouteMemo(opts.routeMemoMaxUsers);
  }

  /**
   * Queue a stored message for online delivery; false when a bound was hit (delivery skipped).
   * `acceptedAt` (performance.now() when the request arrived) times the `delivered` stage.
   */
  enqueue(msg: ChatMessage, acceptedAt: number = performance.now()): boolean {
    let q = this.queues.get(msg.groupId);
    if (this.pendingTotal >= this.opts.fanoutMaxPending || (q && q.pending.length >= this.opts.fanoutQueueMax)) {
      this.metrics.fanoutSkipped.inc({ reason: 'queue_full' });
      this.log.debug({ groupId: msg.groupId, seq: msg.seq }, 'fan-out queue full; message left to sweep and replay');
      return false;
    }
    if (!q) this.queues.set(msg.groupId, (q = { pending: [], running: false }));
    insertBySeq(q.pending, { msg, acceptedAt });
    this.pendingTotal++;
    if (!q.running) {
      q.running = true;
      void this.run(msg.groupId, q);
    }
    return true;
  }

  /** Messages waiting over all groups. */
  get pending(): number {
    return this.pendingTotal;
  }

  /** Resolves when no fan-out work is left, or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<void> {
    if (this.queues.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async run(groupId: string, q: GroupQueue): Promise<void> {
    while (q.pending.length > 0) {
      const batch = q.pending.splice(0, this.opts.deliverBatchMax);
      this.pendingTotal -= batch.length;
      try {
        await this.deliverBatch(groupId, batch);
      } catch (err) {
        this.metrics.fanoutSkipped.inc({ reason: 'error' }, batch.length);
        if (isRetryableRedisError(err)) this.health.failed(err, 'fanout');
        else this.log.warn({ err, groupId, firstSeq: batch[0]?.msg.seq, count: batch.length }, 'fan-out failed; messages left to sweep and replay');
      }
    }
    q.running = false;
    this.queues.delete(groupId);
    if (this.queues.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private async deliverBatch(groupId: string, batch: readonly QueuedMessage[]): Promise<void> {
    const members = await this.members.members(groupId);
    if (members.length === 0) {
      this.metrics.fanoutRecipients.observe(0);
      return;
    }
    // Read before the lookup: a change while it runs leaves the memo out of date at once.
    const stamp = { members, presenceChanges: this.presence.changes, linksGeneration: this.delivery.linksGeneration };
    let found = this.routes.get(groupId, stamp, this.presence.now());
    this.metrics.fanoutRoutes.inc({ source: found ? 'memo' : 'lookup' });
    if (!found) {
      const looked = await this.presence.lookup(members);
      const routes = this.delivery.route(looked.devices);
      let users = 0;
      for (const list of routes.byLink.values()) users += list.length;
      this.routes.set(groupId, stamp, looked.freshUntilMs, looked.readAtMs, routes, users);
      found = { routes, readAtMs: looked.readAtMs };
    }
    this.metrics.presenceAge.observe(Math.max(0, Date.now() - found.readAtMs) / 1000);
    const reached = this.delivery.toRoutes(
      groupId,
      batch.map((q) => q.msg),
      found.routes,
      'online',
    );
    this.metrics.fanoutRecipients.observe(reached);
    const now = performance.now();
    for (const q of batch) this.metrics.messageDuration.observe({ stage: 'delivered' }, (now - q.acceptedAt) / 1000);
  }
}

/** Insert keeping ascending seq order (appends in the common case). */
export function insertBySeq(list: QueuedMessage[], item: QueuedMessage): void {
  let i = list.length;
  while (i > 0 && (list[i - 1] as QueuedMessage).msg.seq > item.msg.seq) i--;
  list.splice(i, 0, item);
}
