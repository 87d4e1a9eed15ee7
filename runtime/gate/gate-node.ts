/**
 * A gate node, wired: options → metrics, presence, router + membership source, delivery, client
 * port, heartbeat loop. `startGate` returns once the client port listens; `close()` is the
 * graceful shutdown (turn not ready, refuse new clients, close clients with 1001 spread over the
 * drain window, unregister presence, close links).
 */
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { WebSocket } from 'ws';
import { CloseCode } from '../protocol/errors.js';
import type { Logger } from '../ops/logger.js';
import type { ReadinessCheck } from '../ops/ops-server.js';
import { ThrottledLog } from '../ops/throttled-log.js';
import { RedisPresenceReader, RedisPresenceWriter } from '../presence/presence-redis.js';
import { PresenceRefresh } from './presence-refresh.js';
import { HeartbeatSlices } from './heartbeat-slices.js';
import type { RedisStore } from '../redis/redis-store.js';
import { AdminApi } from './admin-api.js';
import type { AuthResult } from './auth.js';
import { TokenVerifier } from './auth.js';
import { ClientConnection, type ConnectionContext } from './client-connection.js';
import { ClientRequests } from './client-requests.js';
import { CLOSE_HANDSHAKE_MS, checkGateOptions, type GateOptions, HARD_FRAME_FACTOR, newBootId } from './config.js';
import { drainConnections } from './connection-drain.js';
import { ConnectionRegistry } from './connection-registry.js';
import { Delivery } from './delivery.js';
import { type GapFiller, RouterGapFiller } from './gap-filler.js';
import { closeCodeLabel, createGateMetrics, type GateMetrics } from './gate-metrics.js';
import { type GateServer, startGateServer } from './gate-server.js';
import type { MembershipSource } from './membership-source.js';
import { createMembershipSource } from './membership-source-choice.js';
import { GateLiveness } from './liveness.js';
import { LoginReplays } from './login-replay.js';
import { Router } from './router.js';
import { TickFlush } from '../net/tick-flush.js';

export interface GateDeps {
  log: Logger;
  /** The process's registry; the gate registers its metrics here. */
  registry: Registry;
  /** The one door to Redis (presence). */
  store: RedisStore;
}

export interface GateHandle {
  /** The client port actually bound (useful with port 0). */
  port: number;
  name: string;
  bootId: string;
  /** For the ops server's /readyz: Redis answers, at least one logic node is reachable, not draining. */
  readiness: readonly ReadinessCheck[];
  /** Authenticated client connections open now. */
  connections(): number;
  /** Logic nodes whose link is up. */
  linksUp(): number;
  membershipVersion(): string | null;
  /**
   * Graceful shutdown; idempotent. Drain (not ready, new upgrades refused with 503, clients closed
   * with 1001 spread over IMGROUP_GATE_DRAIN_WINDOW_MS after their requests in flight are
   * answered), then unregister what is left from presence and close the links.
   */
  close(): Promise<void>;
}

export async function startGate(options: GateOptions, deps: GateDeps): Promise<GateHandle> {
  checkGateOptions(options);
  const base = deps.log.child({ gate: options.name });
  const log = base.child({ component: 'gate' });
  const metrics = createGateMetrics(deps.registry);
  const bootId = newBootId();
  const heartbeatMs = options.heartbeatMs;
  const presence = new RedisPresenceWriter(deps.store, {
    gate: options.name,
    boot: bootId,
    ttlMs: Math.ceil(1.5 * heartbeatMs),
    publishChanges: options.presencePublish,
    channels: options.presenceChannels,
  });
  const presenceReader = new RedisPresenceReader(deps.store, { gateCacheMs: Math.floor(0.25 * heartbeatMs) });
  // Registration runs in the background: a gate starts (and reports not ready) while Redis is
  // unreachable, and the heartbeat retries until it succeeds.
  let registered = false;
  let registering: Promise<void> | null = null;
  const register = (): Promise<void> =>
    (registering ??= presence.register().then(
      () => {
        registered = true;
        registering = null;
      },
      (err: Error) => {
        registering = null;
        log.error({ err: err.message }, 'presence registration failed; retrying every heartbeat');
      },
    ));
  void register();

  const connections = new ConnectionRegistry<ClientConnection>();
  const refusals = new ThrottledLog(base.child({ component: 'refusals' }), options.refusalLogIntervalMs);
  const router = new Router(
    {
      gateName: options.name,
      bootId,
      internalToken: options.internalToken,
      requestTimeoutMs: options.requestTimeoutMs,
      linkPingMs: options.linkPingMs,
      linkReconnectMaxMs: options.linkReconnectMaxMs,
      maxPendingRequests: options.maxPendingRequests,
      maxLinkBufferedBytes: options.maxLinkBufferedBytes,
      maxInternalFrameBytes: options.maxInternalFrameBytes,
    },
    { log: base, metrics },
  );
  metrics.linkSource.pendingRequests = () => router.pendingRequests;
  metrics.linkSource.bufferedBytes = () => router.bufferedBytes;
  const delivery = new Delivery(connections, metrics, base);
  router.on('deliver', (frame, link) => delivery.deliver(frame, link));
  const gaps = new RouterGapFiller(router, metrics, { gapFillTimeoutMs: options.gapFillTimeoutMs }, base);
  const requests = new ClientRequests(router, { defaultSyncLimit: options.defaultSyncLimit, maxSyncsPerConnection: options.maxSyncsPerConnection }, base.child({ component: 'client-requests' }));
  const ctx = connectionContext(options, metrics, base, requests, gaps);
  const logins = new LoginReplays<ClientConnection>(
    (conn) => router.request(conn.userId, { op: 'login', userId: conn.userId, connId: conn.connId }),
    { retry: () => metrics.loginRetries.inc() },
    base.child({ component: 'login-replay' }),
  );

  let membership: MembershipSource;
  try {
    membership = await createMembershipSource(options, {
      onChange: (doc) => router.applyMembership(doc),
      onError: () => metrics.membershipErrors.inc(),
      log: base,
    });
  } catch (err) {
    router.close();
    throw err;
  }
  await membership.start();

  /** Draining or closing: new clients are refused, the gate is not ready. */
  let shuttingDown = false;
  /** The last phase of close(): remaining devices are unregistered in one batch, not one by one. */
  let unregistering = false;
  /** Presence writes not yet settled: a disconnect must wait for them, or it could land first. */
  const presenceWrites = new Map<ClientConnection, Promise<void>>();

  const onClose = (conn: ClientConnection, code: number): void => {
    if (!connections.remove(conn)) return;
    metrics.connections.set(connections.size);
    metrics.users.set(connections.users);
    metrics.connectionsClosed.inc({ code: closeCodeLabel(code) });
    if (unregistering) return;
    const disconnect = () =>
      presence.disconnect(conn.userId, conn.connId).catch((err: Error) => log.warn({ err: err.message, connId: conn.connId }, 'presence disconnect failed'));
    const pending = presenceWrites.get(conn);
    if (pending) void pending.then(disconnect);
    else void disconnect();
  };

  const onConnection = (ws: WebSocket, auth: Extract<AuthResult, { ok: true }>): void => {
    if (shuttingDown) {
      ws.close(CloseCode.GOING_AWAY);
      return;
    }
    if (connections.countForUser(auth.userId) >= options.maxConnectionsPerUser) {
      metrics.userLimitCloses.inc();
      refusals.event('user_limit', { userId: auth.userId, max: options.maxConnectionsPerUser }, 'connection closed with 4502: the user holds the maximum of connections on this gate');
      ws.close(CloseCode.TOO_MANY_CONNECTIONS, `at most ${options.maxConnectionsPerUser} connections per user`);
      return;
    }
    const conn = new ClientConnection(ws, auth.userId, randomBytes(12).toString('base64url'), auth.expMs, ctx, Date.now());
    connections.add(conn);
    metrics.connections.set(connections.size);
    metrics.users.set(connections.users);
    metrics.connectionsOpened.inc();
    log.debug({ connId: conn.connId }, 'client connected');
    ws.on('message', (data, isBinary) => conn.receive(data, isBinary, Date.now()));
    ws.on('pong', () => conn.seen(Date.now()));
    ws.on('error', (err) => log.debug({ err: err.message, connId: conn.connId }, 'client socket error'));
    ws.on('close', (code) => onClose(conn, code));
    const connected = presence.connect(conn.userId, conn.connId);
    presenceWrites.set(
      conn,
      connected.then(
        () => void presenceWrites.delete(conn),
        () => void presenceWrites.delete(conn),
      ),
    );
    withDeadline(connected, options.redisCommandTimeoutMs, 'presence connect').then(
      () => {
        if (!conn.isOpen) return;
        conn.sendFrame({ type: 'welcome', userId: conn.userId, connId: conn.connId, gate: options.name, heartbeatMs });
        logins.start(conn);
      },
      (err: Error) => {
        log.warn({ err: err.message, connId: conn.connId }, 'presence could not be written; closing the connection');
        conn.close(CloseCode.SERVER_ERROR);
      },
    );
  };

  const admin = new AdminApi(
    {
      adminToken: options.adminToken,
      maxAdminBodyBytes: options.maxAdminBodyBytes,
      maxBodyBytes: options.maxBodyBytes,
      maxAdminIds: options.maxAdminIds,
      adminRatePerSec: options.adminRatePerSec,
    },
    router,
    presenceReader,
    metrics,
    base,
    refusals,
  );

  let server: GateServer | null = null;
  try {
    server = await startGateServer(
      { host: options.host, port: options.port, hardFrameBytes: HARD_FRAME_FACTOR * options.maxFrameBytes, handshakeTimeoutMs: options.handshakeTimeoutMs },
      {
        verifier: new TokenVerifier(options.jwtSecret),
        metrics,
        log: base,
        refusals,
        refuseReason: () => {
          if (shuttingDown) return 'gate is draining (shutting down); connect to another gate';
          if (connections.size + (server?.handshakes ?? 0) >= options.maxConnections) return `gate holds its maximum of ${options.maxConnections} connections`;
          return null;
        },
        onConnection,
        onRequest: (req, res) => admin.handle(req, res),
      },
    );
  } catch (err) {
    membership.stop();
    router.close();
    throw err;
  }
  const gateServer = server;

  const slices = new HeartbeatSlices(heartbeatMs);
  // Each slice rewrites its share; never more often than once per heartbeat for a connection.
  const refresh = options.presenceRefreshMs > 0 ? new PresenceRefresh(presence, { refreshMs: Math.max(options.presenceRefreshMs, heartbeatMs), heartbeatMs: slices.sliceMs }) : null;
  const refreshPresence = (all: readonly ClientConnection[]): void => {
    // Connections whose connect write is still pending are skipped (their turn comes again); a
    // disconnect waits for the rewrite, so it cannot land before it and leave a dead device.
    const due = refresh?.due(all).filter((c) => c.isOpen && !presenceWrites.has(c)) ?? [];
    if (due.length === 0) return;
    const written = refresh!.write(due).then(
      (n) => {
        if (n === 0) return;
        metrics.presenceRestored.inc(n);
        log.warn({ restored: n }, 'presence of open connections was missing in Redis; written again');
      },
      (err: Error) => log.warn({ err: err.message }, 'presence refresh failed; retried next round'),
    );
    for (const c of due) {
      const mine: Promise<void> = written.then(() => void (presenceWrites.get(c) === mine && presenceWrites.delete(c)));
      presenceWrites.set(c, mine);
    }
  };

  const liveness = new GateLiveness(presence, () => connections.all(), metrics.livenessLapses, log);
  // Spread over the interval (heartbeat-slices.ts).
  const heartbeat = setInterval(() => {
    const { slice, round } = slices.tick();
    if (round) {
      if (!registered) void register();
      else void liveness.tick();
    }
    const all = connections.all();
    if (registered) refreshPresence(all);
    const now = Date.now();
    for (const conn of all) if (HeartbeatSlices.inSlice(conn.connId, slice)) conn.tick(now);
  }, slices.sliceMs);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      // Draining: not ready, upgrades refused with 503, clients closed with 1001 over the window.
      // Presence, heartbeat, membership and links keep working meanwhile: the clients not yet
      // closed are served as before, and each closed one is unregistered as it goes.
      shuttingDown = true;
      metrics.draining.set(1);
      const drainStart = performance.now();
      const clients = connections.all();
      log.info({ connections: clients.length, windowMs: options.drainWindowMs }, 'draining: closing clients with 1001 over the drain window');
      await drainConnections(
        clients,
        { windowMs: options.drainWindowMs, inFlightWaitMs: options.requestTimeoutMs, closeCode: CloseCode.GOING_AWAY },
        { drained: (waited) => metrics.connectionsDrained.inc({ wait: waited ? 'requests' : 'none' }) },
      );
      const deadline = Date.now() + CLOSE_HANDSHAKE_MS;
      while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // Closing: whatever is left is terminated and unregistered in one batch.
      unregistering = true;
      clearInterval(heartbeat);
      membership.stop();
      const stopped = gateServer.stopAccepting();
      const devices = connections.all().map((c) => ({ userId: c.userId, connId: c.connId }));
      for (const conn of connections.all()) conn.ws.terminate();
      // Connects still in flight (and a heartbeat, which would set the liveness key again) must land
      // before the unregister that removes them.
      await withDeadline(Promise.all([...presenceWrites.values(), liveness.settled()]), options.redisCommandTimeoutMs, 'presence connects').catch(() => undefined);
      await withDeadline(presence.unregister(devices), options.redisCommandTimeoutMs, 'presence unregister').catch((err: Error) => log.warn({ err: err.message }, 'presence unregister failed'));
      logins.close();
      router.close();
      gateServer.destroy();
      refusals.close();
      await stopped;
      log.info({ drained: clients.length, terminated: devices.length, drainMs: Math.round(performance.now() - drainStart) }, 'gate closed');
    })();
    return closing;
  };

  return {
    port: gateServer.port,
    name: options.name,
    bootId,
    readiness: [
      { name: 'redis', check: () => redisReady(deps.store, registered, options.redisCommandTimeoutMs) },
      { name: 'logic', check: () => (router.linksUp > 0 ? null : 'no logic node is reachable') },
      { name: 'draining', check: () => (shuttingDown ? 'gate is draining (shutting down): clients are being moved to other gates' : null) },
    ],
    connections: () => connections.size,
    linksUp: () => router.linksUp,
    membershipVersion: () => router.membershipVersion,
    close,
  };
}

/** Ready when the gate is registered and Redis answers a PING within the command timeout. */
async function redisReady(store: RedisStore, registered: boolean, timeoutMs: number): Promise<string | null> {
  if (!registered) return 'gate not yet registered in Redis';
  const ok = await withDeadline(store.ping(), timeoutMs, 'PING').catch(() => false);
  return ok ? null : 'Redis does not answer';
}

/**
 * A Redis call that cannot wait forever: while the cluster is unreachable ioredis queues
 * commands instead of failing them, so the gate bounds the wait itself.
 */
function withDeadline<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} got no answer from Redis within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function connectionContext(options: GateOptions, metrics: GateMetrics, log: Logger, requests: ClientRequests, gaps: GapFiller): ConnectionContext {
  return {
    frameLimits: { maxFrameBytes: options.maxFrameBytes, maxBodyBytes: options.maxBodyBytes, maxSyncLimit: options.maxSyncLimit },
    rate: { ratePerSec: options.ratePerSec, burst: options.rateBurst },
    controlRate: { ratePerSec: options.controlRatePerSec, burst: options.controlRateBurst },
    badFrames: { max: options.maxBadFrames, windowMs: options.badFrameWindowMs },
    order: {
      maxGapFill: options.maxGapFill,
      maxHeld: options.maxPendingDeliveries,
      maxTrackedGroups: options.maxTrackedGroups,
      maxFills: options.maxGapFillsPerConnection,
    },
    sendBufferBytes: options.sendBufferBytes,
    heartbeatMs: options.heartbeatMs,
    flush: new TickFlush(),
    counters: {
      delivered: (path) => metrics.delivered(path),
      dropped: (reason) => metrics.deliveriesDropped.inc({ reason }),
      frameReceived: (type) => metrics.framesReceived.inc({ type }),
      frameError: (code) => metrics.frameErrors.inc({ code }),
    },
    log: log.child({ component: 'client-connection' }),
    gaps,
    onFrame: (conn, frame) => requests.handle(conn, frame),
  };
}
