/**
 * Every metric of a gate, created once against the process's injected Registry. Labels stay
 * low-cardinality: frame types, error codes, reasons, ops, paths — never user, group or
 * connection ids.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CLIENT_FRAME_TYPES } from '../protocol/client-frames.js';
import { CloseCode, ErrorCode } from '../protocol/errors.js';
import { DELIVERY_PATHS, type DeliveryPath, type InternalOp } from '../protocol/internal-frames.js';
import type { AuthFailureReason } from './auth.js';
import type { DropReason } from './delivery-order.js';

export interface GateMetrics {
  connections: Gauge;
  /** Presence entries of open connections that were missing in Redis and were written again. */
  presenceRestored: Counter;
  /** Heartbeats that found the gate's liveness key expired (its users looked offline meanwhile). */
  livenessLapses: Counter;
  /** Login replays that failed and were retried. */
  loginRetries: Counter;
  users: Gauge;
  connectionsOpened: Counter;
  connectionsClosed: Counter<'code'>;
  authFailures: Counter<'reason'>;
  /** TCP connections closed because no complete request arrived within the handshake timeout. */
  handshakeTimeouts: Counter;
  /** Connections closed with 4502: the user already held the per-user maximum on this gate. */
  userLimitCloses: Counter;
  framesReceived: Counter<'type'>;
  frameErrors: Counter<'code'>;
  deliveries: Counter<'path'>;
  /**
   * Count one message written to a connection. The hot path adds to a plain number per path;
   * `imgroup_gate_deliveries_total` takes the sums on every read (its `collect`), so a scrape
   * sees exactly the messages written so far without a prom-client call per message.
   */
  delivered(path: DeliveryPath): void;
  deliveriesDropped: Counter<'reason'>;
  gapFills: Counter<'outcome'>;
  membershipVersion: Gauge<'version'>;
  membershipErrors: Counter;
  routeDuration: Histogram<'op' | 'outcome'>;
  deliveryDelay: Histogram<string>;
  routeRetries: Counter<'op'>;
  linksUp: Gauge;
  adminRequests: Counter<'route' | 'status'>;
  /** 1 while the gate drains (SIGTERM): not ready, refusing new clients, closing its clients over the window. */
  draining: Gauge;
  connectionsDrained: Counter<'wait'>;
  linkPendingRequests: Gauge;
  linkBufferedBytes: Gauge;
  /** Read on every scrape: the router sets these. */
  linkSource: { pendingRequests: () => number; bufferedBytes: () => number };
}

const AUTH_FAILURE_REASONS = ['missing', 'invalid', 'expired'] as const satisfies readonly AuthFailureReason[];
/** Every internal op, once (the Record makes the compiler notice a new one). */
const INTERNAL_OPS = Object.keys({ send: 1, post: 1, sync: 1, login: 1, 'members.update': 1, 'members.get': 1 } satisfies Record<InternalOp, 1>);
const DROP_REASONS = ['duplicate', 'overflow', 'closed'] as const satisfies readonly (DropReason | 'closed')[];

export function createGateMetrics(registry: Registry): GateMetrics {
  const registers = [registry];
  const uncounted: Record<DeliveryPath, number> = { online: 0, offline: 0, sweep: 0, gapfill: 0 };
  const linkSource = { pendingRequests: () => 0, bufferedBytes: () => 0 };
  const metrics: GateMetrics = {
    linkSource,
    linkPendingRequests: new Gauge({
      name: 'imgroup_gate_logic_pending_requests',
      help: 'Requests sent to logic nodes and not yet answered, over all links; at most IMGROUP_MAX_PENDING_REQUESTS per link (beyond it: UNAVAILABLE).',
      registers,
      collect() {
        this.set(linkSource.pendingRequests());
      },
    }),
    linkBufferedBytes: new Gauge({
      name: 'imgroup_gate_logic_buffered_bytes',
      help: 'Bytes queued on the logic links and not yet taken by the network, over all links; requests to a link above IMGROUP_LINK_MAX_BUFFERED_BYTES fail with UNAVAILABLE.',
      registers,
      collect() {
        this.set(linkSource.bufferedBytes());
      },
    }),
    connections: new Gauge({ name: 'imgroup_gate_connections', help: 'Authenticated client connections open on this gate.', registers }),
    livenessLapses: new Counter({
      name: 'imgroup_gate_liveness_lapses_total',
      help: 'Heartbeats that found this gate’s liveness key expired (a late heartbeat, a Redis pause or failover): its users looked offline to readers meanwhile, and were announced online again.',
      registers,
    }),
    presenceRestored: new Counter({
      name: 'imgroup_gate_presence_restored_total',
      help: 'Presence entries of open connections found missing in Redis by the presence refresh and written again (e.g. lost in a Redis failover).',
      registers,
    }),
    loginRetries: new Counter({
      name: 'imgroup_gate_login_replay_retries_total',
      help: 'Login replays that failed (no logic node reachable, timeout, refused under load) and were retried with backoff while the connection held its live messages.',
      registers,
    }),
    users: new Gauge({ name: 'imgroup_gate_users', help: 'Distinct users with at least one authenticated connection on this gate.', registers }),
    connectionsOpened: new Counter({ name: 'imgroup_gate_connections_opened_total', help: 'Client connections accepted (after authentication).', registers }),
    connectionsClosed: new Counter({
      name: 'imgroup_gate_connections_closed_total',
      help: 'Client connections closed, by close code (1006 = dropped without a close frame; other = a code outside 1000-1015 and the imgroup codes).',
      labelNames: ['code'],
      registers,
    }),
    authFailures: new Counter({
      name: 'imgroup_gate_auth_failures_total',
      help: 'WebSocket handshakes refused with HTTP 401, by reason (missing, invalid, expired).',
      labelNames: ['reason'],
      registers,
    }),
    handshakeTimeouts: new Counter({
      name: 'imgroup_gate_handshake_timeouts_total',
      help: 'TCP connections to the client port closed because they sent no complete request (WebSocket upgrade or admin request) within IMGROUP_HANDSHAKE_TIMEOUT_MS.',
      registers,
    }),
    userLimitCloses: new Counter({
      name: 'imgroup_gate_user_limit_closes_total',
      help: 'Authenticated connections closed with 4502 because their user already held IMGROUP_MAX_CONNECTIONS_PER_USER connections on this gate.',
      registers,
    }),
    framesReceived: new Counter({ name: 'imgroup_gate_frames_received_total', help: 'Valid client frames received, by type.', labelNames: ['type'], registers }),
    frameErrors: new Counter({
      name: 'imgroup_gate_frame_errors_total',
      help: 'Error frames sent to clients, by error code.',
      labelNames: ['code'],
      registers,
    }),
    deliveries: new Counter({
      name: 'imgroup_gate_deliveries_total',
      help: 'Messages written to client connections, by path (online, offline, sweep, gapfill).',
      labelNames: ['path'],
      registers,
      collect() {
        for (const path of DELIVERY_PATHS) {
          const n = uncounted[path];
          if (n === 0) continue;
          uncounted[path] = 0;
          this.inc({ path }, n);
        }
      },
    }),
    delivered: (path) => {
      uncounted[path]++;
    },
    deliveriesDropped: new Counter({
      name: 'imgroup_gate_deliveries_dropped_total',
      help: 'Messages not written to a connection, by reason (duplicate, overflow, closed); they stay behind the user cursor.',
      labelNames: ['reason'],
      registers,
    }),
    gapFills: new Counter({ name: 'imgroup_gate_gap_fills_total', help: 'Gap fetches by outcome (ok, failed).', labelNames: ['outcome'], registers }),
    membershipVersion: new Gauge({
      name: 'imgroup_gate_membership_version_info',
      help: 'The applied logic membership version (value 1).',
      labelNames: ['version'],
      registers,
    }),
    membershipErrors: new Counter({
      name: 'imgroup_gate_membership_errors_total',
      help: 'Membership documents that could not be read or were invalid (the current one was kept).',
      registers,
    }),
    routeDuration: new Histogram({
      name: 'imgroup_gate_route_duration_seconds',
      help: 'Time from routing a request to logic to its answer, by op and outcome (ok, error, unavailable).',
      labelNames: ['op', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    deliveryDelay: new Histogram({
      name: 'imgroup_gate_delivery_delay_seconds',
      help: "Live fan-out: from a message's store time (its ts, the logic node's clock) to this gate having written it to its local connections; once per push from logic.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    routeRetries: new Counter({
      name: 'imgroup_gate_route_retries_total',
      help: 'Requests re-sent to a new owner because their logic node went down or was removed.',
      labelNames: ['op'],
      registers,
    }),
    linksUp: new Gauge({ name: 'imgroup_gate_logic_links_up', help: 'Logic nodes with an open internal link (the ring members).', registers }),
    adminRequests: new Counter({
      name: 'imgroup_gate_admin_requests_total',
      help: 'Admin API requests by route and HTTP status.',
      labelNames: ['route', 'status'],
      registers,
    }),
    draining: new Gauge({ name: 'imgroup_gate_draining', help: '1 while the gate drains after SIGTERM (not ready, new WebSocket upgrades refused with 503, clients closed with 1001 over IMGROUP_GATE_DRAIN_WINDOW_MS), else 0.', registers }),
    connectionsDrained: new Counter({
      name: 'imgroup_gate_connections_drained_total',
      help: 'Client connections closed with 1001 by the drain, by whether they had requests in flight to wait for at their turn (wait = none, requests).',
      labelNames: ['wait'],
      registers,
    }),
  };
  // Every known value of a closed label set starts at 0: rates then read 0, not "no data",
  // before the first event, and a series never appears out of nothing.
  for (const reason of AUTH_FAILURE_REASONS) metrics.authFailures.inc({ reason }, 0);
  for (const type of CLIENT_FRAME_TYPES) metrics.framesReceived.inc({ type }, 0);
  for (const code of Object.values(ErrorCode)) metrics.frameErrors.inc({ code }, 0);
  for (const path of DELIVERY_PATHS) metrics.deliveries.inc({ path }, 0);
  for (const reason of DROP_REASONS) metrics.deliveriesDropped.inc({ reason }, 0);
  for (const outcome of ['ok', 'failed']) metrics.gapFills.inc({ outcome }, 0);
  for (const op of INTERNAL_OPS) metrics.routeRetries.inc({ op }, 0);
  for (const wait of ['none', 'requests']) metrics.connectionsDrained.inc({ wait }, 0);
  metrics.draining.set(0);
  return metrics;
}

/** Close codes the `code` label may carry as themselves: the standard 1000–1015 and imgroup's own. */
const LABELLED_CLOSE_CODES = new Set<number>([...Array.from({ length: 16 }, (_, i) => 1000 + i), ...Object.values(CloseCode)]);

/**
 * The `code` label of a closed connection. A client chooses its own close code (any of
 * 3000–4999), so codes outside a closed set become `other`: a client cannot grow the number of
 * series.
 */
export function closeCodeLabel(code: number): string {
  return LABELLED_CLOSE_CODES.has(code) ? String(code) : 'other';
}
