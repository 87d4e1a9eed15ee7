/**
 * SSUBSCRIBE to a fixed set of sharded pub/sub channels of a Redis Cluster, and keep it so across
 * failovers and resharding. One subscriber connection per master that owns at least one of the
 * channels' slots, planned from the cluster client's slot map:
 *
 * - every `checkIntervalMs` the plan is compared with the connections; a master that gained or
 *   lost channels, or a connection that died, is (re)opened;
 * - a connection that closes, errs, or is told by Redis that it lost a channel (Redis 7 pushes an
 *   unsolicited SUNSUBSCRIBE when a slot moves away, which ioredis reports as an `error`) is torn
 *   down; the cluster client is asked to refresh its slot map and the plan is applied again after
 *   a jittered backoff (a SSUBSCRIBE answered MOVED is handled the same way).
 *
 * Notices published while a channel was not subscribed are lost: `onSubscribed` names the
 * channels each time they are (re)subscribed, so the consumer can drop what it may have missed.
 *
 * ioredis' own `shardedSubscribers` option is not used: here the moment of (re)subscription is
 * visible, which a cache needs to stay correct, and the recovery path is ours to test.
 */
import calculateSlot from 'cluster-key-slot';
import { type Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { parseNodeKey, type RedisStore } from '../redis/redis-store.js';
import { Backoff } from '../retry/backoff.js';

export interface ShardedSubscriberOptions {
  channels: readonly string[];
  /** How often the plan is re-checked against the cluster's slot map. */
  checkIntervalMs: number;
  onMessage(channel: string, message: string): void;
  /** These channels were just (re)subscribed; anything published before may have been missed. */
  onSubscribed(channels: readonly string[]): void;
  log: Logger;
}

interface Connection {
  node: string;
  channels: readonly string[];
  redis: Redis;
  state: 'connecting' | 'subscribed' | 'dead';
}

/** Bounds of the delay before the plan is applied again after a lost subscription. */
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

export class ShardedSubscriber {
  private readonly conns = new Map<string, Connection>();
  private timer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private readonly backoff = new Backoff({ minMs: MIN_BACKOFF_MS, maxMs: MAX_BACKOFF_MS });
  private closed = false;

  constructor(
    private readonly store: RedisStore,
    private readonly opts: ShardedSubscriberOptions,
  ) {}

  private get cluster(): Cluster {
    return this.store.cluster;
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.reconcile(), this.opts.checkIntervalMs);
    this.timer.unref();
    this.reconcile();
  }

  /** Channels subscribed right now. */
  get subscribed(): number {
    let n = 0;
    for (const c of this.conns.values()) if (c.state === 'subscribed') n += c.channels.length;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retry) clearTimeout(this.retry);
    this.timer = this.retry = null;
    for (const conn of [...this.conns.values()]) this.drop(conn);
  }

  /** Compare the plan with the connections and fix what differs. */
  reconcile(): void {
    if (this.closed) return;
    const plan = this.plan();
    if (!plan) return;
    for (const conn of [...this.conns.values()]) {
      const want = plan.get(conn.node);
      if (conn.state === 'dead' || !want || !sameChannels(want, conn.channels)) this.drop(conn);
    }
    for (const [node, channels] of plan) if (!this.conns.has(node)) this.open(node, channels);
  }

  /** Master node key → the channels whose slot it owns; null while the slot map is incomplete. */
  private plan(): Map<string, string[]> | null {
    if (this.cluster.status !== 'ready') return null;
    const plan = new Map<string, string[]>();
    for (const channel of this.opts.channels) {
      const node = this.cluster.slots[calculateSlot(channel)]?.[0];
      if (!node) return null;
      let list = plan.get(node);
      if (!list) plan.set(node, (list = []));
      list.push(channel);
    }
    return plan;
  }

  private open(node: string, channels: readonly string[]): void {
    const { host, port } = parseNodeKey(node);
    const base = this.cluster.options.redisOptions ?? {};
    const redis = new Redis({
      host,
      port,
      username: base.username,
      password: base.password,
      // The cluster client's TLS options (redis-store.ts): the same CA, the node named as the slot map names it.
      tls: base.tls,
      connectTimeout: base.connectTimeout ?? 2000,
      commandTimeout: base.commandTimeout,
      connectionName: 'imgroup-ssubscriber',
      lazyConnect: true,
      enableReadyCheck: false,
      enableOfflineQueue: true,
      autoResubscribe: false,
      maxRetriesPerRequest: 0,
      // Reconnecting is the subscriber's job: a new connection, planned from a fresh slot map.
      retryStrategy: () => null,
    });
    const conn: Connection = { node, channels, redis, state: 'connecting' };
    this.conns.set(node, conn);
    redis.on('smessage', (channel: string, message: string) => {
      if (conn.state !== 'dead') this.opts.onMessage(channel, message);
    });
    redis.on('error', (err: Error) => this.fail(conn, err));
    redis.on('close', () => this.fail(conn, new Error(`subscriber connection to ${node} closed`)));
    void this.subscribe(conn).catch((err: unknown) => this.fail(conn, err instanceof Error ? err : new Error(String(err))));
  }

  private async subscribe(conn: Connection): Promise<void> {
    await conn.redis.connect();
    // One SSUBSCRIBE per slot: the channels of one command must share a slot.
    const bySlot = new Map<number, string[]>();
    for (const channel of conn.channels) {
      const slot = calculateSlot(channel);
      let list = bySlot.get(slot);
      if (!list) bySlot.set(slot, (list = []));
      list.push(channel);
    }
    await Promise.all(
      [...bySlot.values()].map((list) => {
        this.store.countExternal('ssubscribe');
        return conn.redis.ssubscribe(...list);
      }),
    );
    if (conn.state !== 'connecting') return;
    conn.state = 'subscribed';
    this.backoff.reset();
    this.opts.log.debug({ node: conn.node, channels: conn.channels.length }, 'sharded channels subscribed');
    this.opts.onSubscribed(conn.channels);
  }

  private fail(conn: Connection, err: Error): void {
    if (conn.state === 'dead') return;
    const wasSubscribed = conn.state === 'subscribed';
    this.drop(conn);
    if (this.closed) return;
    this.store.countExternalError(err);
    const delayMs = this.backoff.next(); // every failure widens the window, even one during a pending retry
    this.opts.log[wasSubscribed ? 'warn' : 'debug']({ err: err.message, node: conn.node, failures: this.backoff.attempts }, 'sharded subscription lost; resubscribing');
    this.cluster.refreshSlotsCache();
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.reconcile();
    }, delayMs);
    this.retry.unref();
  }

  private drop(conn: Connection): void {
    conn.state = 'dead';
    if (this.conns.get(conn.node) === conn) this.conns.delete(conn.node);
    conn.redis.disconnect();
  }
}

function sameChannels(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((c) => set.has(c));
}
