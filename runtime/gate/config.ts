/**
 * Options of a gate process, described once: `GATE_OPTIONS` (the README table is generated from
 * it) and the typed `GateOptions` derived from it, which the rest of the gate reads.
 * `resolveGateOptions` parses flags and environment, checks every cross-option rule and names the
 * setting it rejects.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { COMMON_OPTIONS, DEV_INTERNAL_TOKEN, resolveCommonOptions, secretOrDevDefault, type WithCommon } from '../config/common-options.js';
import { boolOption, ConfigError, intOption, type OptionValues, resolveOptions, secretOption, stringOption } from '../config/options.js';
import { PRESENCE_CHANNELS_OPTION } from '../presence/presence-channels.js';
import { type ConfigMapRef, parseConfigMapRef } from './membership-configmap-ref.js';

/** Insecure development fallback for IMGROUP_ADMIN_TOKEN (never accepted in production mode). */
export const DEV_ADMIN_TOKEN = 'imgroup-dev-admin-token';
/** Insecure development fallback for IMGROUP_JWT_SECRET, fixed so local tools can mint tokens. */
export const DEV_JWT_SECRET = 'imgroup-dev-jwt-secret-not-for-production';
/** Production JWT secrets must have at least this many bytes (HS256 key strength). */
export const MIN_JWT_SECRET_BYTES = 32;
/** The ws hard frame cap is this multiple of maxFrameBytes: frames in between get FRAME_TOO_LARGE, bigger ones close 1009. */
export const HARD_FRAME_FACTOR = 4;

/** How long a drained gate waits for its clients to complete the 1001 close handshake before terminating them. */
export const CLOSE_HANDSHAKE_MS = 2000;
/** Seconds a pod's terminationGracePeriodSeconds exceeds the process's own shutdown timeout (the operator adds it). */
export const GRACE_MARGIN_SECONDS = 5;

const KiB = 1024;
const MiB = 1024 * KiB;

export const GATE_ONLY_OPTIONS = [
  stringOption({ key: 'host', env: 'IMGROUP_GATE_HOST', flag: 'host', default: '0.0.0.0', doc: 'Listen address of the client port (WebSocket `/v1/ws` and the admin API).' }),
  intOption({ key: 'port', env: 'IMGROUP_GATE_PORT', flag: 'port', default: 8080, min: 0, max: 65535, doc: 'Client port (0 = any free port).' }),
  intOption({ key: 'opsPort', env: 'IMGROUP_OPS_PORT', flag: 'ops-port', default: 9090, min: 0, max: 65535, doc: 'Ops port: /healthz, /readyz, /metrics (0 = any free port).' }),
  secretOption({ key: 'jwtSecret', env: 'IMGROUP_JWT_SECRET', flag: 'jwt-secret', requiredInProduction: true, doc: `HS256 secret of client tokens (at least ${MIN_JWT_SECRET_BYTES} bytes in production).` }),
  secretOption({ key: 'adminToken', env: 'IMGROUP_ADMIN_TOKEN', flag: 'admin-token', requiredInProduction: true, doc: 'Bearer token of the admin HTTP API.' }),
  stringOption({ key: 'membershipFile', env: 'IMGROUP_MEMBERSHIP_FILE', flag: 'membership-file', doc: 'Path of the logic membership document (JSON); re-read within 1 s of a change. Required unless `IMGROUP_MEMBERSHIP_CONFIGMAP` is set (which wins when both are).' }),
  intOption({ key: 'membershipPollMs', env: 'IMGROUP_MEMBERSHIP_POLL_MS', flag: 'membership-poll-ms', default: 500, min: 50, max: 1000, doc: 'Polling interval that backs up file watching of the membership document, in ms.' }),
  stringOption({ key: 'membershipConfigMap', env: 'IMGROUP_MEMBERSHIP_CONFIGMAP', flag: 'membership-configmap', doc: '`<namespace>/<name>` of the ConfigMap whose key `membership.json` holds the logic membership document, listed and watched through the Kubernetes API (fieldSelector on that one name); used instead of the file when set.' }),
  stringOption({ key: 'kubeconfig', env: 'IMGROUP_KUBECONFIG', flag: 'kubeconfig', doc: 'Kubeconfig file for the membership ConfigMap watch. Default: the pod\'s in-cluster ServiceAccount.' }),
  stringOption({ key: 'serviceAccountDir', env: 'IMGROUP_SERVICE_ACCOUNT_DIR', flag: 'service-account-dir', doc: 'Directory of the in-cluster ServiceAccount files (`token`, `ca.crt`) for the membership ConfigMap watch, used without a kubeconfig. Default: `/var/run/secrets/kubernetes.io/serviceaccount`, where Kubernetes mounts them.' }),
  intOption({ key: 'membershipWatchStallMs', env: 'IMGROUP_MEMBERSHIP_WATCH_STALL_MS', flag: 'membership-watch-stall-ms', default: 90_000, min: 1000, max: 3_600_000, doc: 'A membership ConfigMap watch without any event for this long, in ms, is restarted (the API server sends a bookmark about every 60 s).' }),
  intOption({ key: 'maxFrameBytes', env: 'IMGROUP_MAX_FRAME_BYTES', flag: 'max-frame-bytes', default: 64 * KiB, min: 1 * KiB, max: 16 * MiB, doc: `Largest client frame in bytes; bigger ones get FRAME_TOO_LARGE, frames over ${HARD_FRAME_FACTOR}x this close the connection (1009).` }),
  intOption({ key: 'maxBodyBytes', env: 'IMGROUP_MAX_BODY_BYTES', flag: 'max-body-bytes', default: 16 * KiB, min: 1, max: 16 * MiB, doc: 'Largest message body in bytes (client `send` and admin post); must be below the frame limit.' }),
  intOption({ key: 'maxSyncLimit', env: 'IMGROUP_MAX_SYNC_LIMIT', flag: 'max-sync-limit', default: 1000, min: 1, max: 100_000, doc: 'Largest `limit` a client `sync` may ask for.' }),
  intOption({ key: 'defaultSyncLimit', env: 'IMGROUP_DEFAULT_SYNC_LIMIT', flag: 'default-sync-limit', default: 100, min: 1, max: 100_000, doc: '`limit` of a client `sync` that names none; at most the max sync limit.' }),
  intOption({ key: 'maxSyncsPerConnection', env: 'IMGROUP_MAX_SYNCS_PER_CONNECTION', flag: 'max-syncs-per-connection', default: 2, min: 1, max: 1000, doc: 'Client `sync` requests in flight per connection; one more gets RATE_LIMITED. Each page is at most the logic nodes’ IMGROUP_SYNC_PAGE_BYTES, so keep this × that below the send buffer.' }),
  intOption({ key: 'ratePerSec', env: 'IMGROUP_RATE_PER_SEC', flag: 'rate-per-sec', default: 50, min: 1, max: 1_000_000, doc: 'Client `send` and `sync` frames per second per connection (token bucket refill); beyond it they get RATE_LIMITED. `ack` and `ping` have their own bucket.' }),
  intOption({ key: 'rateBurst', env: 'IMGROUP_RATE_BURST', flag: 'rate-burst', default: 100, min: 1, max: 1_000_000, doc: 'Token bucket size per connection: `send` and `sync` frames a client may send at once.' }),
  intOption({ key: 'controlRatePerSec', env: 'IMGROUP_CONTROL_RATE_PER_SEC', flag: 'control-rate-per-sec', default: 200, min: 1, max: 1_000_000, doc: 'Client `ack` and `ping` frames per second per connection, in a bucket of their own so that acking never starves sends; beyond it they are dropped and answered RATE_LIMITED (a later cumulative ack covers a dropped one).' }),
  intOption({ key: 'controlRateBurst', env: 'IMGROUP_CONTROL_RATE_BURST', flag: 'control-rate-burst', default: 400, min: 1, max: 1_000_000, doc: 'Token bucket size per connection for `ack` and `ping` frames.' }),
  intOption({ key: 'maxBadFrames', env: 'IMGROUP_MAX_BAD_FRAMES', flag: 'max-bad-frames', default: 10, min: 1, max: 1_000_000, doc: 'Invalid frames answered with error frames per window; the next one closes the connection (4500).' }),
  intOption({ key: 'badFrameWindowMs', env: 'IMGROUP_BAD_FRAME_WINDOW_MS', flag: 'bad-frame-window-ms', default: 60_000, min: 1000, max: 3_600_000, doc: 'Window of the invalid-frame count, in ms.' }),
  intOption({ key: 'maxConnections', env: 'IMGROUP_MAX_CONNECTIONS', flag: 'max-connections', default: 100_000, min: 1, max: 10_000_000, doc: 'Client connections this gate holds at most; further handshakes get HTTP 503.' }),
  intOption({ key: 'maxConnectionsPerUser', env: 'IMGROUP_MAX_CONNECTIONS_PER_USER', flag: 'max-connections-per-user', default: 100, min: 1, max: 1_000_000, doc: 'Connections (devices) one user may hold on this gate; the next one is closed with 4502 right after the handshake. Per gate: with N gates behind a load balancer a user may hold up to N times this.' }),
  intOption({ key: 'sendBufferBytes', env: 'IMGROUP_SEND_BUFFER_BYTES', flag: 'send-buffer-bytes', default: 4 * MiB, min: 16 * KiB, max: 1024 * MiB, doc: 'Unsent bytes a connection may accumulate before it is closed as a slow consumer (4001).' }),
  intOption({ key: 'requestTimeoutMs', env: 'IMGROUP_REQUEST_TIMEOUT_MS', flag: 'request-timeout-ms', default: 5000, min: 100, max: 120_000, doc: 'A request to logic (including retries on a new owner) without answer after this long fails with UNAVAILABLE.' }),
  intOption({ key: 'maxPendingRequests', env: 'IMGROUP_MAX_PENDING_REQUESTS', flag: 'max-pending-requests', default: 10_000, min: 1, max: 1_000_000, doc: 'Requests in flight per logic link; beyond it requests fail with UNAVAILABLE.' }),
  intOption({ key: 'maxLinkBufferedBytes', env: 'IMGROUP_LINK_MAX_BUFFERED_BYTES', flag: 'link-max-buffered-bytes', default: 16 * MiB, min: 64 * KiB, max: 1024 * MiB, doc: 'Bytes of requests queued on one logic link and not yet taken by the network (a logic node that stopped reading); beyond it requests to that node fail with UNAVAILABLE.' }),
  intOption({ key: 'linkPingMs', env: 'IMGROUP_LINK_PING_MS', flag: 'link-ping-ms', default: 1000, min: 50, max: 60_000, doc: 'Ping interval of internal links; a logic node silent for 2 intervals is dropped from the ring.' }),
  intOption({ key: 'linkReconnectMaxMs', env: 'IMGROUP_LINK_RECONNECT_MAX_MS', flag: 'link-reconnect-max-ms', default: 5000, min: 100, max: 300_000, doc: 'Upper bound of the jittered exponential backoff between link reconnect attempts, in ms.' }),
  intOption({ key: 'maxInternalFrameBytes', env: 'IMGROUP_MAX_INTERNAL_FRAME_BYTES', flag: 'max-internal-frame-bytes', default: 64 * MiB, min: 64 * KiB, max: 1024 * MiB, doc: 'Largest frame accepted from a logic node, in bytes.' }),
  intOption({ key: 'maxGapFill', env: 'IMGROUP_MAX_GAP_FILL', flag: 'max-gap-fill', default: 100, min: 0, max: 10_000, doc: 'Gaps in a group of at most this many messages are fetched before delivering newer ones (0 = never).' }),
  intOption({ key: 'gapFillTimeoutMs', env: 'IMGROUP_GAP_FILL_TIMEOUT_MS', flag: 'gap-fill-timeout-ms', default: 2000, min: 50, max: 60_000, doc: 'How long newer messages are held while a gap is fetched; then they are delivered as they are.' }),
  intOption({ key: 'maxGapFillsPerConnection', env: 'IMGROUP_MAX_GAP_FILLS_PER_CONNECTION', flag: 'max-gap-fills-per-connection', default: 4, min: 1, max: 1000, doc: 'Gap fetches in flight per connection; further gaps are delivered as they are.' }),
  intOption({ key: 'maxPendingDeliveries', env: 'IMGROUP_MAX_PENDING_DELIVERIES', flag: 'max-pending-deliveries', default: 1000, min: 1, max: 1_000_000, doc: 'Messages held per connection while its login replay runs (and per group while a gap is fetched); overflow is dropped and recovered by replay or sync.' }),
  intOption({ key: 'maxTrackedGroups', env: 'IMGROUP_MAX_TRACKED_GROUPS', flag: 'max-tracked-groups', default: 1000, min: 1, max: 1_000_000, doc: 'Groups per connection whose last delivered seq is remembered for ordering; the least recently used are forgotten.' }),
  intOption({ key: 'maxAdminBodyBytes', env: 'IMGROUP_MAX_ADMIN_BODY_BYTES', flag: 'max-admin-body-bytes', default: 1 * MiB, min: 1 * KiB, max: 64 * MiB, doc: 'Largest admin API request body in bytes (HTTP 413 beyond).' }),
  intOption({ key: 'maxAdminIds', env: 'IMGROUP_MAX_ADMIN_IDS', flag: 'max-admin-ids', default: 10_000, min: 1, max: 100_000, doc: 'User ids per admin members change.' }),
  intOption({ key: 'adminRatePerSec', env: 'IMGROUP_ADMIN_RATE_PER_SEC', flag: 'admin-rate-per-sec', default: 1000, min: 1, max: 1_000_000, doc: 'Admin API requests per second this gate accepts (HTTP 429 beyond).' }),
  intOption({ key: 'presenceRefreshMs', env: 'IMGROUP_PRESENCE_REFRESH_MS', flag: 'presence-refresh-ms', default: 30_000, min: 0, max: 86_400_000, doc: 'Every open connection’s presence is written to Redis again once per this many ms (a slice every sixteenth of a heartbeat), so an entry a Redis failover lost stops hiding a connected user; 0 = never; a value below IMGROUP_HEARTBEAT_MS means every heartbeat.' }),
  boolOption({ key: 'presencePublish', env: 'IMGROUP_PRESENCE_PUBLISH', flag: 'presence-publish', default: true, doc: 'Publish presence changes on sharded pub/sub, so logic nodes update their session caches at once (with `false`, logic caches rely on their TTL alone).' }),
  PRESENCE_CHANNELS_OPTION,
  intOption({ key: 'drainWindowMs', env: 'IMGROUP_GATE_DRAIN_WINDOW_MS', flag: 'drain-window-ms', default: 10_000, min: 0, max: 3_600_000, doc: 'On SIGTERM the gate turns not ready, refuses new WebSocket upgrades (HTTP 503) and closes its clients with 1001 spread evenly over this many ms, so that their reconnects reach the other gates as a steady stream (0 = all at once). Must fit IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS (see there).' }),
  intOption({
    key: 'shutdownTimeoutMs',
    env: 'IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS',
    flag: 'shutdown-timeout-ms',
    default: 25_000,
    min: 1000,
    max: 3_600_000,
    doc: `On SIGTERM the gate exits within this many ms, drained or not. It must hold the drain: IMGROUP_GATE_DRAIN_WINDOW_MS + IMGROUP_REQUEST_TIMEOUT_MS (the last client's requests in flight) + ${CLOSE_HANDSHAKE_MS} ms (close handshakes) + 2 × IMGROUP_REDIS_COMMAND_TIMEOUT_MS (presence) at most. Keep the pod's terminationGracePeriodSeconds above it (the operator sets it to this + ${GRACE_MARGIN_SECONDS} s).`,
  }),
] as const;

/** Every option of `imgroup gate`: the shared ones first. */
export const GATE_OPTIONS = [...COMMON_OPTIONS, ...GATE_ONLY_OPTIONS] as const;

/** What resolveGateOptions fills in or parses beyond the specs' own values. */
interface ResolvedGate {
  /** The development fallback when IMGROUP_JWT_SECRET is not set (development mode only). */
  jwtSecret: string;
  /** The development fallback when IMGROUP_ADMIN_TOKEN is not set (development mode only). */
  adminToken: string;
  /** The ConfigMap source, parsed (it wins over the membership file when both are set). */
  membershipConfigMap?: ConfigMapRef | undefined;
}

/** The gate's options, typed from GATE_OPTIONS. */
export type GateOptions = Omit<WithCommon<OptionValues<typeof GATE_OPTIONS>>, keyof ResolvedGate> & ResolvedGate;

export interface ResolvedGateOptions {
  options: GateOptions;
  /** Development fallbacks that were used; main.ts logs each one as a warning. */
  warnings: string[];
}


/**
 * Parse gate options from flags and environment. Throws ConfigError naming the setting on any
 * invalid, missing or contradictory value.
 */
export function resolveGateOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ResolvedGateOptions {
  const { options: raw, positionals } = resolveOptions(GATE_OPTIONS, argv, env);
  if (positionals.length > 0) throw new ConfigError(`unexpected argument ${JSON.stringify(positionals[0])}: imgroup gate takes only --flags`);
  const warnings: string[] = [];
  const common = resolveCommonOptions(raw, hostname(), warnings);
  const jwtSecret = secretOrDevDefault(raw.jwtSecret, DEV_JWT_SECRET, 'IMGROUP_JWT_SECRET', raw.mode, warnings);
  if (raw.mode === 'production' && Buffer.byteLength(jwtSecret, 'utf8') < MIN_JWT_SECRET_BYTES) {
    throw new ConfigError(`IMGROUP_JWT_SECRET (or --jwt-secret) must have at least ${MIN_JWT_SECRET_BYTES} bytes in production mode`);
  }
  const options: GateOptions = {
    ...raw,
    ...common,
    jwtSecret,
    adminToken: secretOrDevDefault(raw.adminToken, DEV_ADMIN_TOKEN, 'IMGROUP_ADMIN_TOKEN', raw.mode, warnings),
    membershipConfigMap: configMapRefOption(raw.membershipConfigMap),
  };
  checkGateOptions(options);
  return { options, warnings };
}

function configMapRefOption(value: string | undefined): ConfigMapRef | undefined {
  if (value === undefined || value.length === 0) return undefined;
  const parsed = parseConfigMapRef(value);
  if (!parsed.ok) throw new ConfigError(`IMGROUP_MEMBERSHIP_CONFIGMAP (or --membership-configmap): ${parsed.error}`);
  return parsed.ref;
}

/** Cross-option rules. Also used by startGate, so options built in code are checked too. */
export function checkGateOptions(o: GateOptions): void {
  if (!o.membershipConfigMap && !o.membershipFile) {
    throw new ConfigError(
      'no logic membership source: set IMGROUP_MEMBERSHIP_CONFIGMAP (or --membership-configmap) to <namespace>/<name> to watch a ConfigMap through the Kubernetes API, or IMGROUP_MEMBERSHIP_FILE (or --membership-file) to the path of the membership document',
    );
  }
  if (o.kubeconfig && !o.membershipConfigMap) {
    throw new ConfigError('IMGROUP_KUBECONFIG (or --kubeconfig) is only used by the ConfigMap membership source: set IMGROUP_MEMBERSHIP_CONFIGMAP too, or drop it');
  }
  if (o.maxBodyBytes >= o.maxFrameBytes) {
    throw new ConfigError(`IMGROUP_MAX_BODY_BYTES (${o.maxBodyBytes}) must be below IMGROUP_MAX_FRAME_BYTES (${o.maxFrameBytes}): a send frame carries the body plus its envelope`);
  }
  if (o.maxBodyBytes > o.maxAdminBodyBytes) {
    throw new ConfigError(`IMGROUP_MAX_BODY_BYTES (${o.maxBodyBytes}) must not exceed IMGROUP_MAX_ADMIN_BODY_BYTES (${o.maxAdminBodyBytes}): admin posts carry a message body`);
  }
  if (o.defaultSyncLimit > o.maxSyncLimit) {
    throw new ConfigError(`IMGROUP_DEFAULT_SYNC_LIMIT (${o.defaultSyncLimit}) must not exceed IMGROUP_MAX_SYNC_LIMIT (${o.maxSyncLimit})`);
  }
  if (o.maxGapFill > o.maxSyncLimit) {
    throw new ConfigError(`IMGROUP_MAX_GAP_FILL (${o.maxGapFill}) must not exceed IMGROUP_MAX_SYNC_LIMIT (${o.maxSyncLimit}): a gap is fetched with one sync`);
  }
  if (o.gapFillTimeoutMs > o.requestTimeoutMs) {
    throw new ConfigError(`IMGROUP_GAP_FILL_TIMEOUT_MS (${o.gapFillTimeoutMs}) must not exceed IMGROUP_REQUEST_TIMEOUT_MS (${o.requestTimeoutMs})`);
  }
  if (o.rateBurst < 1 || o.ratePerSec < 1) throw new ConfigError('IMGROUP_RATE_PER_SEC and IMGROUP_RATE_BURST must be at least 1');
  if (o.port !== 0 && o.port === o.opsPort) {
    throw new ConfigError(`IMGROUP_OPS_PORT (${o.opsPort}) must differ from IMGROUP_GATE_PORT (${o.port})`);
  }
  if (o.sendBufferBytes < o.maxFrameBytes) {
    throw new ConfigError(`IMGROUP_SEND_BUFFER_BYTES (${o.sendBufferBytes}) must be at least IMGROUP_MAX_FRAME_BYTES (${o.maxFrameBytes}): one message must fit`);
  }
  const drainMs = gateDrainBudgetMs(o);
  if (drainMs > o.shutdownTimeoutMs) {
    throw new ConfigError(
      `IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS (${o.shutdownTimeoutMs}) cannot hold a drain of ${drainMs} ms: IMGROUP_GATE_DRAIN_WINDOW_MS (${o.drainWindowMs}) + IMGROUP_REQUEST_TIMEOUT_MS (${o.requestTimeoutMs}) + ${CLOSE_HANDSHAKE_MS} ms close handshakes + 2 × IMGROUP_REDIS_COMMAND_TIMEOUT_MS (${o.redisCommandTimeoutMs}); shorten the window or raise the timeout`,
    );
  }
  if (o.mode === 'production') {
    if (o.jwtSecret === DEV_JWT_SECRET) throw new ConfigError('IMGROUP_JWT_SECRET must not be the development default in production mode');
    if (o.adminToken === DEV_ADMIN_TOKEN) throw new ConfigError('IMGROUP_ADMIN_TOKEN must not be the development default in production mode');
    if (o.internalToken === DEV_INTERNAL_TOKEN) throw new ConfigError('IMGROUP_INTERNAL_TOKEN must not be the development default in production mode');
  }
}

/**
 * The longest a drain can take: the window, then the last connection's requests in flight (each
 * ends within the request timeout), the close handshakes, the presence writes still in flight and
 * the unregister (one Redis command timeout each).
 */
export function gateDrainBudgetMs(o: Pick<GateOptions, 'drainWindowMs' | 'requestTimeoutMs' | 'redisCommandTimeoutMs'>): number {
  return o.drainWindowMs + o.requestTimeoutMs + CLOSE_HANDSHAKE_MS + 2 * o.redisCommandTimeoutMs;
}

/** A random boot id: distinguishes this process from earlier incarnations of the same gate name. */
export function newBootId(): string {
  return randomBytes(8).toString('hex');
}
