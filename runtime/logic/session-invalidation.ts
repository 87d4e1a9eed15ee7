/**
 * Keeps the session cache fresh between reads: subscribes (sharded pub/sub) to every bucket
 * channel of presence and member-list changes at start, validates each notice, and updates or
 * drops the cached entries it concerns. When a bucket's channels are (re)subscribed, notices may
 * have been lost before, so the bucket's entries are dropped (they are read again when needed).
 *
 * IMGROUP_SESSION_INVALIDATION=false runs without it: entries then live for the TTL alone (the
 * article's plain TTL mode).
 */
import type { Logger } from 'pino';
import { allChannels, decodeMembersChange, decodePresenceChange } from '../presence/presence-channels.js';
import type { RedisStore } from '../redis/redis-store.js';
import type { LogicMetrics } from './logic-metrics.js';
import type { MemberCache } from './member-cache.js';
import type { PresenceCache } from './presence-cache.js';
import type { SessionCache } from './session-cache.js';
import { ShardedSubscriber } from './sharded-subscriber.js';

export interface SessionInvalidationDeps {
  store: RedisStore;
  session: SessionCache;
  presence: PresenceCache;
  members: MemberCache;
  metrics: LogicMetrics;
  log: Logger;
}

export interface SessionInvalidationOptions {
  presenceChannels: number;
  /** How often the subscriptions are checked against the cluster's slot map. */
  checkIntervalMs: number;
}

export class SessionInvalidation {
  private readonly channels: Map<string, { bucket: number; kind: 'presence' | 'members' }>;
  private readonly subscriber: ShardedSubscriber;
  private badNotices = 0;

  constructor(
    private readonly deps: SessionInvalidationDeps,
    private readonly opts: SessionInvalidationOptions,
  ) {
    this.channels = new Map(allChannels(opts.presenceChannels).map((c) => [c.channel, { bucket: c.bucket, kind: c.kind }]));
    this.subscriber = new ShardedSubscriber(deps.store, {
      channels: [...this.channels.keys()],
      checkIntervalMs: opts.checkIntervalMs,
      onMessage: (channel, message) => this.onNotice(channel, message),
      onSubscribed: (channels) => this.onSubscribed(channels),
      log: deps.log,
    });
  }

  start(): void {
    this.subscriber.start();
  }

  /** Channels subscribed right now (all of them, 2 × IMGROUP_PRESENCE_CHANNELS, when healthy). */
  get subscribedChannels(): number {
    return this.subscriber.subscribed;
  }

  get expectedChannels(): number {
    return this.channels.size;
  }

  close(): Promise<void> {
    return this.subscriber.close();
  }

  /** One notice. Never throws: malformed or misrouted notices are counted and ignored. */
  private onNotice(channel: string, message: string): void {
    try {
      const where = this.channels.get(channel);
      if (!where) return this.bad(channel);
      if (where.kind === 'presence') {
        const change = decodePresenceChange(message, where.bucket, this.opts.presenceChannels);
        if (!change) return this.bad(channel);
        this.deps.presence.apply(change);
        return;
      }
      const change = decodeMembersChange(message, where.bucket, this.opts.presenceChannels);
      if (!change) return this.bad(channel);
      this.deps.members.drop(change.groupId, 'notice');
    } catch (err) {
      this.deps.log.error({ err, channel }, 'session cache notice handler threw; notice dropped');
    }
  }

  private onSubscribed(channels: readonly string[]): void {
    const buckets = new Set<number>();
    for (const c of channels) {
      const where = this.channels.get(c);
      if (where) buckets.add(where.bucket);
    }
    const dropped = this.deps.session.resetBuckets(buckets);
    for (const kind of ['members', 'presence'] as const) {
      if (dropped[kind] > 0) this.deps.metrics.sessionCacheInvalidations.inc({ kind, source: 'resubscribe' }, dropped[kind]);
    }
    this.deps.log.info({ channels: channels.length, dropped }, 'session cache invalidation subscribed');
  }

  private bad(channel: string): void {
    this.badNotices++;
    const level = isPowerOfTwo(this.badNotices) ? 'warn' : 'debug';
    this.deps.log[level]({ channel, badNotices: this.badNotices }, 'malformed or misrouted session cache notice ignored');
  }
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
