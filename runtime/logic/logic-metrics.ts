/**
 * Metrics of a logic node, registered on an injected Registry (never the global one). Labels are
 * low-cardinality: no user, group, gate or connection ids.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Where a transient Redis failure was seen (the `source` label of imgroup_logic_storage_failures_total). */
export const STORAGE_FAILURE_SOURCES = ['request', 'ack', 'fanout', 'sweep'] as const;
export type StorageFailureSource = (typeof STORAGE_FAILURE_SOURCES)[number];

export interface LogicMetrics {
  /** Send/post outcomes: stored, duplicate, not_member, error. */
  messages: Counter<'result'>;
  /** Messages handed to gates, counted once per recipient (user for online/sweep, connection for offline). */
  deliveries: Counter<'path'>;
  /** Online recipients (users with a live device on a linked gate) per fan-out batch. */
  fanoutRecipients: Histogram;
  /** Fan-out work not done: queue_full (message not queued), no_link (device's gate not linked), slow_link (gate link buffer over its bound), error (Redis failed). */
  fanoutSkipped: Counter<'reason'>;
  /** Fan-out batches by where their routing came from: memo (the group's last routing, still valid) or lookup. */
  fanoutRoutes: Counter<'source'>;
  gateLinks: Gauge;
  /** Malformed frames from gates. */
  internalFrameErrors: Counter;
  /** Upgrades to /v1/internal refused, by reason (see REFUSAL_KINDS in internal-server.ts). */
  internalRefused: Counter<'reason'>;
  /** TCP connections to the internal port closed because no complete upgrade request came within the handshake timeout. */
  handshakeTimeouts: Counter;
  /** Requests by op and outcome code (ok or an error code). */
  requests: Counter<'op' | 'code'>;
  /** Users that a gate reported it had no connection for (stale presence). */
  missedUsers: Counter;
  /** Acks: applied (taken by the cursor writer), ignored (bad ids), error (not stored: one per cursor a failed write dropped). */
  acks: Counter<'result'>;
  /** Session cache lookups by kind (members, presence) and result (hit, miss, stale; see session-cache.ts). */
  sessionCacheRequests: Counter<'kind' | 'result'>;
  /** Entries held, by kind (read from `sessionCacheSource` at scrape time). */
  sessionCacheEntries: Gauge<'kind'>;
  /** Bytes the cache accounts for (its per-entry estimate, the figure IMGROUP_SESSION_CACHE_MAX_BYTES bounds; read from `sessionCacheSource`). */
  sessionCacheBytes: Gauge;
  sessionCacheSource: { entries: ((kind: 'members' | 'presence') => number) | null; bytes: (() => number) | null };
  /** Entries evicted to respect the entry or byte bound, by kind. */
  sessionCacheEvictions: Counter<'kind'>;
  /** Cached entries changed or dropped before their TTL, by kind and source (notice, missed, resubscribe, local). */
  sessionCacheInvalidations: Counter<'kind' | 'source'>;
  /** Age of the presence data a delivery decision used (oldest entry of a fan-out or sweep batch). */
  presenceAge: Histogram;
  /** Messages members have not acknowledged, summed over the groups of the last sweep tick. */
  offlineBacklog: Gauge;
  /** Time from accepting a send or post to: stored (append done), delivered (handed to the gates of online members). */
  messageDuration: Histogram<'stage'>;
  /** Bytes of group-log pages received from Redis, by path (sync, replay, sweep). */
  logReadBytes: Counter<'path'>;
  /** Log reads by how the node's read budget admitted them: immediate, waited, refused (answered UNAVAILABLE). */
  logReadAdmissions: Counter<'result'>;
  /** Bytes of log reads in flight to Redis (read from `logReadSource` at scrape time). */
  logReadBytesInFlight: Gauge;
  logReadSource: { inFlight: (() => number) | null };
  /** Request attempts run again after a transient Redis failure (failover, migration, timeout), by op. */
  storageRetries: Counter<'op'>;
  /** Transient Redis failures seen, by source (request attempt, ack, fanout, sweep): counted, not logged. */
  storageFailures: Counter<'source'>;
  /** Outages (periods of transient Redis failures), each logged once when it starts and once when it ends. */
  storageOutages: Counter;
  /** Appends followed by WAIT (IMGROUP_REDIS_MIN_REPLICAS_ACK > 0): time of the append + WAIT round trip, by outcome (acked, shortfall, error). */
  replicaAckDuration: Histogram<'outcome'>;
  /** Sends and posts answered UNAVAILABLE for too few replica acknowledgements: sent (appended, WAIT fell short) or not (the master was known short, another append was probing it). */
  replicaAckShortfalls: Counter<'sent'>;
}

export function createLogicMetrics(registry: Registry): LogicMetrics {
  const registers = [registry];
  const source: LogicMetrics['sessionCacheSource'] = { entries: null, bytes: null };
  const readSource: LogicMetrics['logReadSource'] = { inFlight: null };
  const metrics: LogicMetrics = {
    messages: new Counter({
      name: 'imgroup_logic_messages_total',
      help: 'Send and post requests by result: stored, duplicate (idempotent retry), not_member, error.',
      labelNames: ['result'],
      registers,
    }),
    deliveries: new Counter({
      name: 'imgroup_logic_deliveries_total',
      help: 'Messages pushed to gates, once per recipient (user for online and sweep, connection for offline), by path.',
      labelNames: ['path'],
      registers,
    }),
    fanoutRecipients: new Histogram({
      name: 'imgroup_logic_fanout_recipients',
      help: 'Online recipients (users) of one fan-out batch.',
      buckets: [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000],
      registers,
    }),
    fanoutSkipped: new Counter({
      name: 'imgroup_logic_fanout_skipped_total',
      help: 'Online fan-out not done (left to the sweep, login replay and sync), by reason: queue_full, no_link, slow_link (per user), error.',
      labelNames: ['reason'],
      registers,
    }),
    fanoutRoutes: new Counter({
      name: 'imgroup_logic_fanout_routes_total',
      help: "Online fan-out batches by where their routing came from: memo (the group's previous routing, reused because no member, presence entry or gate link changed and no entry passed its TTL) or lookup (presence looked up in the session cache, routed again).",
      labelNames: ['source'],
      registers,
    }),
    gateLinks: new Gauge({
      name: 'imgroup_logic_gate_links',
      help: 'Gates currently linked to this logic node.',
      registers,
    }),
    internalFrameErrors: new Counter({
      name: 'imgroup_logic_internal_frame_errors_total',
      help: 'Malformed frames received from gates.',
      registers,
    }),
    internalRefused: new Counter({
      name: 'imgroup_logic_internal_refused_total',
      help: 'Connections to /v1/internal refused before a link existed, by reason: not_found, shutting_down, missing_token, wrong_token, bad_gate_headers.',
      labelNames: ['reason'],
      registers,
    }),
    handshakeTimeouts: new Counter({
      name: 'imgroup_logic_handshake_timeouts_total',
      help: 'TCP connections to the internal port closed because they sent no complete upgrade request within IMGROUP_HANDSHAKE_TIMEOUT_MS.',
      registers,
    }),
    requests: new Counter({
      name: 'imgroup_logic_requests_total',
      help: 'Internal requests by op and outcome (ok or the error code).',
      labelNames: ['op', 'code'],
      registers,
    }),
    missedUsers: new Counter({
      name: 'imgroup_logic_missed_users_total',
      help: 'Users a gate had no connection for when asked to deliver to them (stale presence).',
      registers,
    }),
    acks: new Counter({
      name: 'imgroup_logic_acks_total',
      help: 'Acknowledgements by result: applied (taken by the cursor writer), ignored (invalid), error (a cursor write failed; one per cursor dropped).',
      labelNames: ['result'],
      registers,
    }),
    sessionCacheRequests: new Counter({
      name: 'imgroup_logic_session_cache_requests_total',
      help: 'Session cache lookups (one per group for members, one per user for presence) by kind and result: hit, miss (not cached), stale (cached but past IMGROUP_SESSION_TTL_MS, read again).',
      labelNames: ['kind', 'result'],
      registers,
    }),
    sessionCacheEntries: new Gauge({
      name: 'imgroup_logic_session_cache_entries',
      help: 'Entries held by the session cache, by kind (members: one per group, presence: one per user).',
      labelNames: ['kind'],
      registers,
      collect() {
        const entries = source.entries;
        for (const kind of ['members', 'presence'] as const) this.set({ kind }, entries ? entries(kind) : 0);
      },
    }),
    sessionCacheBytes: new Gauge({
      name: 'imgroup_logic_session_cache_bytes',
      help: 'Bytes the session cache accounts for: its per-entry estimate, which IMGROUP_SESSION_CACHE_MAX_BYTES bounds (imgroup bench measures the heap it really takes).',
      registers,
      collect() {
        this.set(source.bytes ? source.bytes() : 0);
      },
    }),
    sessionCacheSource: source,
    sessionCacheEvictions: new Counter({
      name: 'imgroup_logic_session_cache_evictions_total',
      help: 'Session cache entries evicted to stay within IMGROUP_SESSION_CACHE_MAX_ENTRIES / _MAX_BYTES, by kind.',
      labelNames: ['kind'],
      registers,
    }),
    sessionCacheInvalidations: new Counter({
      name: 'imgroup_logic_session_cache_invalidations_total',
      help: 'Session cache entries changed or dropped before their TTL, by kind and source: notice (pub/sub), missed (a gate had no connection), resubscribe (notices may have been lost), local (members changed here).',
      labelNames: ['kind', 'source'],
      registers,
    }),
    presenceAge: new Histogram({
      name: 'imgroup_logic_presence_age_seconds',
      help: 'Age of the presence a delivery decision used: time since the oldest entry of a fan-out or sweep batch was read from Redis or changed by a notice.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300],
      registers,
    }),
    offlineBacklog: new Gauge({
      name: 'imgroup_logic_offline_backlog_messages',
      help: 'Messages not yet acknowledged by members (sum over members of head − cursor, each capped at IMGROUP_LOG_CAP), summed over the groups examined by the last sweep tick.',
      registers,
    }),
    messageDuration: new Histogram({
      name: 'imgroup_logic_message_duration_seconds',
      help: 'Time from accepting a send or post by stage: stored (appended to the group log), delivered (handed to the gates of the online members).',
      labelNames: ['stage'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    logReadBytes: new Counter({
      name: 'imgroup_logic_log_read_bytes_total',
      help: 'Bytes of group-log pages read from Redis (as the page script counts them), by path: sync, replay (login), sweep.',
      labelNames: ['path'],
      registers,
    }),
    logReadAdmissions: new Counter({
      name: 'imgroup_logic_log_read_admissions_total',
      help: 'Log reads (one per pass of a sync, login replay or sweep) by how the IMGROUP_LOGIC_LOG_READ_MAX_BYTES budget admitted them: immediate, waited, refused (the request was answered UNAVAILABLE).',
      labelNames: ['result'],
      registers,
    }),
    logReadBytesInFlight: new Gauge({
      name: 'imgroup_logic_log_read_bytes_in_flight',
      help: 'Bytes of group-log reads reserved and not yet answered by Redis (at most IMGROUP_LOGIC_LOG_READ_MAX_BYTES).',
      registers,
      collect() {
        this.set(readSource.inFlight ? readSource.inFlight() : 0);
      },
    }),
    logReadSource: readSource,
    storageRetries: new Counter({
      name: 'imgroup_logic_storage_retries_total',
      help: 'Request attempts run again after a transient Redis failure (failover, slot migration, timeout), by op; requests still failing after IMGROUP_LOGIC_STORAGE_RETRY_MS are answered UNAVAILABLE.',
      labelNames: ['op'],
      registers,
    }),
    storageFailures: new Counter({
      name: 'imgroup_logic_storage_failures_total',
      help: 'Transient Redis failures (failover, slot migration, timeout) seen by this node, by source: request (one per failed attempt), ack, fanout, sweep. Counted here instead of logged one by one.',
      labelNames: ['source'],
      registers,
    }),
    storageOutages: new Counter({
      name: 'imgroup_logic_storage_outages_total',
      help: 'Periods of transient Redis failures, each logged once at warn when it starts and once at info when requests succeed again.',
      registers,
    }),
    replicaAckDuration: new Histogram({
      name: 'imgroup_logic_replica_ack_seconds',
      help: 'With IMGROUP_REDIS_MIN_REPLICAS_ACK > 0: time of the append and its WAIT (one round trip to the master), by outcome: acked (enough replicas), shortfall (too few within IMGROUP_REDIS_REPLICAS_ACK_TIMEOUT_MS), error (the append failed).',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    replicaAckShortfalls: new Counter({
      name: 'imgroup_logic_replica_ack_shortfalls_total',
      help: 'Sends and posts answered UNAVAILABLE (the client retries with the same id) because fewer replicas than IMGROUP_REDIS_MIN_REPLICAS_ACK acknowledged: sent="true" the append was followed by a WAIT that fell short within IMGROUP_REDIS_REPLICAS_ACK_TIMEOUT_MS; sent="false" not sent, because the master fell short on its last WAIT and another append is checking it again (one WAIT at a time goes to such a master).',
      labelNames: ['sent'],
      registers,
    }),
  };
  zeroKnownLabels(metrics);
  return metrics;
}

/** The closed label sets start at 0, so rates read 0 (not "no data") until the first event. */
function zeroKnownLabels(m: LogicMetrics): void {
  for (const result of ['stored', 'duplicate', 'not_member', 'error']) m.messages.inc({ result }, 0);
  for (const path of ['online', 'offline', 'sweep']) m.deliveries.inc({ path }, 0);
  for (const reason of ['queue_full', 'no_link', 'slow_link', 'error']) m.fanoutSkipped.inc({ reason }, 0);
  for (const source of ['memo', 'lookup']) m.fanoutRoutes.inc({ source }, 0);
  for (const result of ['applied', 'ignored', 'error']) m.acks.inc({ result }, 0);
  for (const kind of ['members', 'presence']) {
    for (const result of ['hit', 'miss', 'stale']) m.sessionCacheRequests.inc({ kind, result }, 0);
    m.sessionCacheEvictions.inc({ kind }, 0);
  }
  for (const source of ['notice', 'missed', 'resubscribe']) m.sessionCacheInvalidations.inc({ kind: 'presence', source }, 0);
  for (const source of ['notice', 'resubscribe', 'local']) m.sessionCacheInvalidations.inc({ kind: 'members', source }, 0);
  for (const stage of ['stored', 'delivered']) m.messageDuration.zero({ stage });
  for (const path of ['sync', 'replay', 'sweep']) m.logReadBytes.inc({ path }, 0);
  for (const result of ['immediate', 'waited', 'refused']) m.logReadAdmissions.inc({ result }, 0);
  for (const source of STORAGE_FAILURE_SOURCES) m.storageFailures.inc({ source }, 0);
  for (const outcome of ['acked', 'shortfall', 'error']) m.replicaAckDuration.zero({ outcome });
  for (const sent of ['true', 'false']) m.replicaAckShortfalls.inc({ sent }, 0);
}
