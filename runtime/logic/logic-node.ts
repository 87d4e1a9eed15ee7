/**
 * A logic node, wired: the internal endpoint, the group service, fan-out, login replay, the
 * sweep, the session cache (member lists and presence, kept fresh by change notices) and the
 * cursor writer, all over one RedisStore. Importing this module runs nothing;
 * `startLogic` starts a node and `close` stops it gracefully.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { redisConnectOptions } from '../config/common-options.js';
import { ThrottledLog } from '../ops/throttled-log.js';
import { InternalCloseCode } from '../protocol/internal-frames.js';
import { RedisPresenceReader } from '../presence/presence-redis.js';
import { createRedisMetrics } from '../redis/redis-metrics.js';
import { CommandBudget } from '../redis/command-budget.js';
import { createCluster, RedisStore } from '../redis/redis-store.js';
import { gateCacheMs, type LogicOptions } from './config.js';
import { CoalescingCursorWriter } from './coalescing-cursor-writer.js';
import { type CursorWriter, RedisCursorWriter } from './cursor-writer.js';
import { Fanout } from './fanout.js';
import { FrameHandler } from './frame-handler.js';
import { GateDelivery } from './gate-delivery.js';
import { GateLinks } from './gate-links.js';
import { GroupMembers } from './group-members.js';
import { GroupService } from './group-service.js';
import { startInternalServer } from './internal-server.js';
import { createLogicMetrics } from './logic-metrics.js';
import { LogReader } from './log-reader.js';
import { MessageLog } from './message-log.js';
import { MemberCache } from './member-cache.js';
import { OfflineReplay } from './offline-replay.js';
import { PresenceCache } from './presence-cache.js';
import { ReadBudget } from './read-budget.js';
import { SessionCache } from './session-cache.js';
import { SessionInvalidation } from './session-invalidation.js';
import { StorageHealth } from './storage-health.js';
import { StorageRetry } from './storage-retry.js';
import { Sweep } from './sweep.js';

/** How often the invalidation subscriptions are compared with the cluster's slot map. */
const SUBSCRIPTION_CHECK_MS = 1000;

export interface LogicDeps {
  log: Logger;
  registry: Registry;
  /**
   * The Redis door to use. When given, the caller owns it (close() leaves it open); when absent,
   * the node connects to options.redisSeeds itself and closes that connection on close().
   */
  store?: RedisStore;
  /** The sweep's clock (tests move it past the grace period); Date.now by default. */
  sweepClock?: () => number;
}

export interface LogicNode {
  /** Port of the internal endpoint (useful with options.port = 0). */
  port: number;
  /** Run one sweep pass now; resolves to the number of (message, user) pushes. */
  sweepNow(): Promise<number>;
  /** Whether the sweep still visits the group (for tests and diagnostics). */
  sweepVisits(groupId: string): boolean;
  /** The sweep's delay before its next visit of a group whose members behind all looked offline; null when it is not one (for tests and diagnostics). */
  sweepIdleDelayMs(groupId: string): number | null;
  /** Write the coalesced cursors now. */
  flushCursors(): Promise<void>;
  /** Invalidation channels subscribed now, and how many there should be (0/0 when invalidation is off). */
  invalidationChannels(): { subscribed: number; expected: number };
  /** Stop accepting, finish in-flight requests and fan-out (bounded by shutdownTimeoutMs), close links and Redis. */
  close(): Promise<void>;
}

export async function startLogic(options: LogicOptions, deps: LogicDeps): Promise<LogicNode> {
  const log = deps.log.child({ component: 'logic' });
  const ownsStore = deps.store === undefined;
  const store =
    deps.store ??
    new RedisStore(
      createCluster(redisConnectOptions(options)),
      createRedisMetrics(deps.registry),
      new CommandBudget({ maxCommands: options.redisMaxPendingCommands, maxBytes: options.redisMaxPendingBytes }),
    );
  if (ownsStore) store.cluster.on('error', (err: Error) => log.debug({ err }, 'redis cluster client error'));
  const metrics = createLogicMetrics(deps.registry);
  const links = new GateLinks(metrics, log.child({ component: 'gate-links' }));
  const delivery = new GateDelivery(links, metrics);
  const session = new SessionCache(options, metrics);
  const presence = new PresenceCache(new RedisPresenceReader(store, { gateCacheMs: gateCacheMs(options) }), session, metrics);
  const memberCache = new MemberCache(store, session, metrics, log.child({ component: 'member-cache' }), {
    publishChanges: options.sessionInvalidation,
    presenceChannels: options.presenceChannels,
  });
  const invalidation =
    options.sessionInvalidation && session.enabled
      ? new SessionInvalidation(
          { store, session, presence, members: memberCache, metrics, log: log.child({ component: 'session-invalidation' }) },
          { presenceChannels: options.presenceChannels, checkIntervalMs: SUBSCRIPTION_CHECK_MS },
        )
      : null;
  const cursors: CursorWriter =
    options.cursorFlushMs > 0 ? new CoalescingCursorWriter(store, metrics, log.child({ component: 'cursors' }), options) : new RedisCursorWriter(store);
  const readBudget = new ReadBudget(
    { maxBytes: options.logReadMaxBytes, waitMs: options.logReadWaitMs },
    {
      admitted: (how) => metrics.logReadAdmissions.inc({ result: how }),
      refused: () => metrics.logReadAdmissions.inc({ result: 'refused' }),
    },
  );
  metrics.logReadSource.inFlight = () => readBudget.inFlight;
  const reader = new LogReader(store, readBudget, { bytesRead: (path, bytes) => metrics.logReadBytes.inc({ path }, bytes) });
  const health = new StorageHealth(log.child({ component: 'storage' }), metrics);
  const fanout = new Fanout(memberCache, presence, delivery, metrics, log.child({ component: 'fanout' }), options, health);
  const sweep = new Sweep({ store, reader, members: memberCache, presence, cursors, delivery, metrics, log: log.child({ component: 'sweep' }), health }, options, deps.sweepClock);
  const service = new GroupService({
    log: new MessageLog(store, options, {
      observed: (outcome, seconds) => {
        if (outcome === 'refused') metrics.replicaAckShortfalls.inc({ sent: 'false' });
        else metrics.replicaAckDuration.observe({ outcome }, seconds);
        if (outcome === 'shortfall') metrics.replicaAckShortfalls.inc({ sent: 'true' });
      },
    }),
    reader,
    members: new GroupMembers(store, options.maxMembersPerGroup),
    memberCache,
    cursors,
    fanout,
    sweep,
    metrics,
    logger: log.child({ component: 'groups' }),
    maxSyncLimit: options.maxSyncLimit,
    syncPageBytes: options.syncPageBytes,
  });
  const handler = new FrameHandler({
    service,
    replay: new OfflineReplay(store, reader, delivery, options),
    cursors,
    presence,
    retry: new StorageRetry({ store, health, metrics }, options),
    health,
    metrics,
    log: log.child({ component: 'frames' }),
    maxInFlightPerLink: options.maxInFlightPerLink,
    requestTimeoutMs: options.requestTimeoutMs,
  });
  const refusals = new ThrottledLog(log.child({ component: 'refusals' }), options.refusalLogIntervalMs);
  let internal;
  try {
    internal = await startInternalServer({
      host: options.host,
      port: options.port,
      internalToken: options.internalToken,
      maxPayloadBytes: options.maxPayloadBytes,
      linkMaxBufferedBytes: options.linkMaxBufferedBytes,
      heartbeatMs: options.heartbeatMs,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      links,
      log: log.child({ component: 'internal-server' }),
      refusals,
      metrics,
      onText: (link, text) => handler.handle(link, text),
      onBinary: (link) => handler.handleBinary(link),
    });
  } catch (err) {
    if (ownsStore) await store.close();
    throw err;
  }
  sweep.start();
  if (cursors instanceof CoalescingCursorWriter) cursors.start();
  invalidation?.start();
  log.info(
    {
      host: options.host,
      port: internal.port,
      sweepIntervalMs: options.sweepIntervalMs,
      sessionTtlMs: options.sessionTtlMs,
      sessionInvalidation: invalidation !== null,
      cursorFlushMs: options.cursorFlushMs,
    },
    'logic node listening',
  );

  let closing: Promise<void> | null = null;
  const server = internal;
  async function shutdown(): Promise<void> {
    const deadline = Date.now() + options.shutdownTimeoutMs;
    server.stopAccepting();
    // The notice goes out before any refusal on each link, so a gate that reads a refusal already
    // routes around this node and re-sends the request to the new owner.
    const gates = links.announceDraining();
    handler.stopAccepting();
    log.info({ gates, inFlight: handler.inFlight, pendingFanout: fanout.pending, shutdownTimeoutMs: options.shutdownTimeoutMs }, 'draining: new requests go to other nodes');
    await sweep.stop();
    await handler.drain(Math.max(0, deadline - Date.now()));
    await fanout.idle(Math.max(0, deadline - Date.now()));
    await invalidation?.close();
    await server.close(InternalCloseCode.GOING_AWAY, 'logic node shutting down');
    refusals.close();
    // After the links are closed no ack can arrive any more: everything acked is written now.
    cursors.stop();
    await cursors.flush().catch((err: unknown) => log.warn({ err }, 'cursor flush failed'));
    if (ownsStore) await store.close();
    log.info({ pendingFanout: fanout.pending, inFlight: handler.inFlight }, 'logic node closed');
  }
  return {
    port: internal.port,
    sweepNow: () => sweep.tick(),
    sweepVisits: (groupId) => sweep.groups.has(groupId),
    sweepIdleDelayMs: (groupId) => sweep.idleDelayMs(groupId),
    flushCursors: () => cursors.flush(),
    invalidationChannels: () => ({ subscribed: invalidation?.subscribedChannels ?? 0, expected: invalidation?.expectedChannels ?? 0 }),
    close: () => (closing ??= shutdown()),
  };
}
