/**
 * Options of a logic node: one documented spec list (COMMON_OPTIONS plus the logic's own), from
 * which `resolveLogicOptions` builds a typed LogicOptions and the README table is generated.
 * Contradictory settings are rejected here, at start-up, naming the settings involved.
 */
import { COMMON_OPTIONS, resolveCommonOptions, type WithCommon } from '../config/common-options.js';
import { boolOption, ConfigError, intOption, type OptionValues, resolveOptions, stringOption } from '../config/options.js';
import { PRESENCE_CHANNELS_OPTION } from '../presence/presence-channels.js';
import { STORAGE_RETRY_BACKOFF } from './storage-retry.js';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
const MiB = 1024 * 1024;
/** The most replicas per master an ImGroupCluster may have (spec.redis.replicasPerMaster). */
export const MAX_MIN_REPLICAS_ACK = 5;

/** The logic node's own options (COMMON_OPTIONS come first in LOGIC_OPTIONS). */
export const LOGIC_OWN_OPTIONS = [
  stringOption({ key: 'host', env: 'IMGROUP_LOGIC_HOST', flag: 'host', default: '0.0.0.0', doc: 'Listen address of the internal endpoint that gates connect to.' }),
  intOption({ key: 'port', env: 'IMGROUP_LOGIC_PORT', flag: 'port', default: 8180, min: 0, max: 65_535, doc: 'Port of the internal endpoint (`/v1/internal`); 0 picks a free port.' }),
  intOption({ key: 'opsPort', env: 'IMGROUP_OPS_PORT', flag: 'ops-port', default: 9190, min: 0, max: 65_535, doc: 'Port of /healthz, /readyz and /metrics; 0 picks a free port.' }),
  intOption({ key: 'maxMembersPerGroup', env: 'IMGROUP_MAX_MEMBERS_PER_GROUP', flag: 'max-members-per-group', default: 10_000, min: 1, max: 1_000_000, doc: 'Adding members beyond this many fails with GROUP_FULL.' }),
  intOption({ key: 'replayLimit', env: 'IMGROUP_REPLAY_LIMIT', flag: 'replay-limit', default: 500, min: 1, max: 100_000, doc: 'At login, at most this many unacknowledged messages per group are pushed (oldest first); the client syncs the rest.' }),
  intOption({ key: 'logCap', env: 'IMGROUP_LOG_CAP', flag: 'log-cap', default: 10_000, min: 1, max: 10_000_000, doc: 'Messages retained per group; older ones are trimmed when new ones are stored.' }),
  intOption({ key: 'logRetentionMs', env: 'IMGROUP_LOG_RETENTION_MS', flag: 'log-retention-ms', default: 7 * DAY_MS, min: MINUTE_MS, max: 365 * DAY_MS, doc: 'Messages older than this are trimmed (lazily, when the group gets a new message; an idle group log expires as a whole).' }),
  intOption({ key: 'idempotencyMs', env: 'IMGROUP_IDEMPOTENCY_MS', flag: 'idempotency-ms', default: 10 * MINUTE_MS, min: 1000, max: 7 * DAY_MS, doc: 'Re-sending the same client message id within this window returns the first seq and stores nothing.' }),
  intOption({ key: 'deliverBatchMax', env: 'IMGROUP_DELIVER_BATCH_MAX', flag: 'deliver-batch-max', default: 200, min: 1, max: 10_000, doc: 'At most this many messages in one deliver frame (fan-out, login replay, sweep).' }),
  intOption({ key: 'fanoutQueueMax', env: 'IMGROUP_FANOUT_QUEUE_MAX', flag: 'fanout-queue-max', default: 1000, min: 1, max: 1_000_000, doc: 'Stored messages waiting for fan-out per group; beyond it online delivery is skipped (the sweep, login replay and sync still deliver).' }),
  intOption({ key: 'fanoutMaxPending', env: 'IMGROUP_FANOUT_MAX_PENDING', flag: 'fanout-max-pending', default: 100_000, min: 1, max: 10_000_000, doc: 'Stored messages waiting for fan-out over all groups of this node.' }),
  intOption({ key: 'routeMemoMaxUsers', env: 'IMGROUP_ROUTE_MEMO_MAX_USERS', flag: 'route-memo-max-users', default: 1_000_000, min: 0, max: 100_000_000, doc: "Routed users the fan-out keeps over all groups, to reuse a group's routing for its next message while no member, presence entry or gate link changed (about 8 bytes each; 0 routes every message afresh)." }),
  intOption({ key: 'replayMaxBytes', env: 'IMGROUP_REPLAY_MAX_BYTES', flag: 'replay-max-bytes', default: 1 * MiB, min: 1024, max: 256 * MiB, doc: 'At login, at most this many bytes of messages are read and pushed over all groups (one message more only when that message alone is larger), plus as much again for the first message of each group with a backlog that the first budget did not reach; the client syncs the rest. Keep twice it below the gates’ IMGROUP_SEND_BUFFER_BYTES.' }),
  intOption({ key: 'loginGroupsPerBatch', env: 'IMGROUP_LOGIN_GROUPS_PER_BATCH', flag: 'login-groups-per-batch', default: 200, min: 1, max: 100_000, doc: 'Login replay reads the logs of this many groups per pipelined batch.' }),
  intOption({ key: 'maxSyncLimit', env: 'IMGROUP_LOGIC_MAX_SYNC_LIMIT', flag: 'max-sync-limit', default: 1000, min: 1, max: 100_000, doc: 'Largest page a sync request gets; larger limits are cut to it (with more=true).' }),
  intOption({ key: 'syncPageBytes', env: 'IMGROUP_SYNC_PAGE_BYTES', flag: 'sync-page-bytes', default: 1 * MiB, min: 1024, max: 64 * MiB, doc: 'Largest page a sync request gets, in bytes of messages (about their JSON size; one message more only when that message alone is larger): beyond it the page ends with more=true, and Redis is asked for no more. Also the most the sweep reads per group.' }),
  intOption({ key: 'sweepIntervalMs', env: 'IMGROUP_SWEEP_INTERVAL_MS', flag: 'sweep-interval-ms', default: 10_000, min: 0, max: DAY_MS, doc: 'How often online members that lag behind recently active groups get their backlog pushed again; 0 disables the sweep.' }),
  intOption({ key: 'sweepGraceMs', env: 'IMGROUP_SWEEP_GRACE_MS', flag: 'sweep-grace-ms', default: 30_000, min: 0, max: DAY_MS, doc: 'The sweep pushes only messages older than this (younger ones are still on their way or not acknowledged yet).' }),
  intOption({ key: 'sweepHorizonMs', env: 'IMGROUP_SWEEP_HORIZON_MS', flag: 'sweep-horizon-ms', default: 10 * MINUTE_MS, min: 1000, max: 30 * DAY_MS, doc: 'A group stays in the sweep set this long after its last message through this node (it leaves earlier once no member is behind; while members are behind but none looks online it is visited less and less often, at most every 8 intervals).' }),
  intOption({ key: 'sweepMaxGroups', env: 'IMGROUP_SWEEP_MAX_GROUPS', flag: 'sweep-max-groups', default: 10_000, min: 1, max: 10_000_000, doc: 'Size of the set of recently active groups the sweep looks at (least recent dropped first).' }),
  intOption({ key: 'sweepGroupsPerTick', env: 'IMGROUP_SWEEP_GROUPS_PER_TICK', flag: 'sweep-groups-per-tick', default: 200, min: 1, max: 1_000_000, doc: 'Groups examined per sweep tick (the rest on the next ticks, round robin).' }),
  intOption({ key: 'sweepMaxMessagesPerTick', env: 'IMGROUP_SWEEP_MAX_MESSAGES_PER_TICK', flag: 'sweep-max-messages-per-tick', default: 5000, min: 1, max: 10_000_000, doc: 'Messages read from group logs per sweep tick.' }),
  intOption({ key: 'sweepMaxBytesPerTick', env: 'IMGROUP_SWEEP_MAX_BYTES_PER_TICK', flag: 'sweep-max-bytes-per-tick', default: 4 * MiB, min: 1024, max: 1024 * MiB, doc: 'Bytes of messages read from group logs per sweep tick.' }),
  intOption({ key: 'sessionTtlMs', env: 'IMGROUP_SESSION_TTL_MS', flag: 'session-ttl-ms', default: 30_000, min: 0, max: DAY_MS, doc: 'How long cached member lists and presence are used after they were read from Redis (with invalidation on, the fallback when a change notice is lost); 0 disables the session cache: every message reads members and presence from Redis.' }),
  intOption({ key: 'sessionCacheMaxEntries', env: 'IMGROUP_SESSION_CACHE_MAX_ENTRIES', flag: 'session-cache-max-entries', default: 1_000_000, min: 1, max: 100_000_000, doc: 'Session cache entries (one per group member list, one per user presence); the least recently used are evicted beyond it.' }),
  intOption({ key: 'sessionCacheMaxBytes', env: 'IMGROUP_SESSION_CACHE_MAX_BYTES', flag: 'session-cache-max-bytes', default: 256 * MiB, min: 1 * MiB, max: 64 * 1024 * MiB, doc: 'Approximate memory of the session cache in bytes; the least recently used entries are evicted beyond it.' }),
  boolOption({ key: 'sessionInvalidation', env: 'IMGROUP_SESSION_INVALIDATION', flag: 'session-invalidation', default: true, doc: 'Keep the session cache fresh with the change notices gates and logic nodes publish (sharded pub/sub); `false` runs plain TTL mode: no subscription, entries live for IMGROUP_SESSION_TTL_MS.' }),
  PRESENCE_CHANNELS_OPTION,
  intOption({ key: 'cursorFlushMs', env: 'IMGROUP_CURSOR_FLUSH_MS', flag: 'cursor-flush-ms', default: 1000, min: 0, max: MINUTE_MS, doc: 'Acks are coalesced in memory and written once per group per interval (a crash loses at most this much cursor progress: re-deliveries, never losses); 0 writes every ack at once.' }),
  intOption({ key: 'cursorPendingMax', env: 'IMGROUP_CURSOR_PENDING_MAX', flag: 'cursor-pending-max', default: 100_000, min: 1, max: 10_000_000, doc: 'Coalesced cursors (group, member) held in memory; reaching it writes them at once.' }),
  intOption({ key: 'logReadMaxBytes', env: 'IMGROUP_LOGIC_LOG_READ_MAX_BYTES', flag: 'log-read-max-bytes', default: 16 * MiB, min: 64 * 1024, max: 4096 * MiB, doc: 'Bytes of group-log reads (sync pages, login replay, sweep) this node has in flight to Redis at once; a read that does not fit waits. It bounds the reply buffers this node can make a Redis node hold: at most logic nodes × this.' }),
  intOption({ key: 'logReadWaitMs', env: 'IMGROUP_LOGIC_LOG_READ_WAIT_MS', flag: 'log-read-wait-ms', default: 2000, min: 0, max: 10 * MINUTE_MS, doc: 'How long a log read waits for room within IMGROUP_LOGIC_LOG_READ_MAX_BYTES; then its request is answered UNAVAILABLE (retryable). A request deadline (IMGROUP_LOGIC_REQUEST_TIMEOUT_MS) that comes first ends the wait the same way.' }),
  intOption({ key: 'maxInFlightPerLink', env: 'IMGROUP_LOGIC_MAX_IN_FLIGHT', flag: 'max-in-flight', default: 1000, min: 1, max: 1_000_000, doc: 'Requests of one gate link being worked on at once; more are answered UNAVAILABLE.' }),
  intOption({ key: 'maxPayloadBytes', env: 'IMGROUP_LOGIC_MAX_PAYLOAD_BYTES', flag: 'max-payload-bytes', default: 16 * 1024 * 1024, min: 64 * 1024, max: 256 * 1024 * 1024, doc: 'Largest frame a gate may send on its internal link; a larger one closes the link (1009).' }),
  intOption({ key: 'linkMaxBufferedBytes', env: 'IMGROUP_LOGIC_LINK_MAX_BUFFERED_BYTES', flag: 'link-max-buffered-bytes', default: 64 * 1024 * 1024, min: 1024 * 1024, max: 1024 * 1024 * 1024, doc: 'Unsent bytes queued on one gate link; beyond it online and sweep deliveries to that gate are skipped (left to later sweeps, replay and sync) until it drains. Responses are always sent.' }),
  intOption({ key: 'requestTimeoutMs', env: 'IMGROUP_LOGIC_REQUEST_TIMEOUT_MS', flag: 'request-timeout-ms', default: 10_000, min: 100, max: 10 * MINUTE_MS, doc: 'A request not finished after this long is answered UNAVAILABLE (the gate may retry it; sends are idempotent).' }),
  intOption({
    key: 'storageRetryMs',
    env: 'IMGROUP_LOGIC_STORAGE_RETRY_MS',
    flag: 'storage-retry-ms',
    default: 3000,
    min: 0,
    max: 10 * MINUTE_MS,
    doc: `A request that meets a transient Redis failure (failover, slot migration, timeout) is tried again, with backoff from ${STORAGE_RETRY_BACKOFF.minMs} ms up to ${STORAGE_RETRY_BACKOFF.maxMs / 1000} s and a slot map refresh, for up to this long in ms, then answered UNAVAILABLE; never past IMGROUP_LOGIC_REQUEST_TIMEOUT_MS. 0: answer UNAVAILABLE at once. Keep it below the gates’ IMGROUP_REQUEST_TIMEOUT_MS, after which a gate stops waiting.`,
  }),
  intOption({
    key: 'minReplicasAck',
    env: 'IMGROUP_REDIS_MIN_REPLICAS_ACK',
    flag: 'redis-min-replicas-ack',
    default: 0,
    min: 0,
    max: MAX_MIN_REPLICAS_ACK,
    doc: `A send or post is answered \`sent\` only after this many replicas of the group's Redis master acknowledged it (\`WAIT n timeout\` right after the append); fewer within IMGROUP_REDIS_REPLICAS_ACK_TIMEOUT_MS answer UNAVAILABLE (retry with the same id: never stored twice). 0: \`sent\` once the master has it, which a master crash can lose (asynchronous replication; see Durability). At most the replicas each master has (the operator checks it against spec.redis.replicasPerMaster), at most ${MAX_MIN_REPLICAS_ACK}.`,
  }),
  intOption({
    key: 'replicasAckTimeoutMs',
    env: 'IMGROUP_REDIS_REPLICAS_ACK_TIMEOUT_MS',
    flag: 'redis-replicas-ack-timeout-ms',
    default: 500,
    min: 1,
    max: 60_000,
    doc: 'With IMGROUP_REDIS_MIN_REPLICAS_ACK > 0: how long the WAIT after an append waits for the replicas, in ms. The WAIT holds this node\'s connection to that master (commands behind it wait too), so it must be at most half of IMGROUP_REDIS_COMMAND_TIMEOUT_MS.',
  }),
  intOption({ key: 'shutdownTimeoutMs', env: 'IMGROUP_LOGIC_SHUTDOWN_TIMEOUT_MS', flag: 'shutdown-timeout-ms', default: 10_000, min: 0, max: 10 * MINUTE_MS, doc: 'On SIGTERM, wait at most this long for in-flight requests and fan-out before closing links.' }),
] as const;

/** Every option of `imgroup logic`, in README order. */
export const LOGIC_OPTIONS = [...COMMON_OPTIONS, ...LOGIC_OWN_OPTIONS] as const;

/** The logic node's options, typed from LOGIC_OPTIONS. */
export type LogicOptions = WithCommon<OptionValues<typeof LOGIC_OPTIONS>>;

export interface ResolvedLogicOptions {
  options: LogicOptions;
  /** Things to log at warn once the logger exists (e.g. the development token fallback). */
  warnings: string[];
}

/**
 * Resolve flags and environment into LogicOptions. Throws ConfigError naming the offending
 * setting for bad values, unknown flags and contradictions. Pure: reads only its arguments.
 */
export function resolveLogicOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  defaults: { hostname: string } = { hostname: 'logic' },
): ResolvedLogicOptions {
  const { options: raw, positionals } = resolveOptions(LOGIC_OPTIONS, argv, env);
  if (positionals.length > 0) throw new ConfigError(`unexpected argument ${JSON.stringify(positionals[0])}; imgroup logic takes only --flags`);
  const warnings: string[] = [];
  const options: LogicOptions = { ...raw, ...resolveCommonOptions(raw, defaults.hostname, warnings) };
  rejectContradictions(options);
  return { options, warnings };
}

/** Settings that are each in range but make no sense together. */
export function rejectContradictions(o: LogicOptions): void {
  if (o.port !== 0 && o.port === o.opsPort) {
    throw new ConfigError(`IMGROUP_LOGIC_PORT and IMGROUP_OPS_PORT are both ${o.port}; give the internal endpoint and the ops port different ports`);
  }
  if (o.requestTimeoutMs < o.redisCommandTimeoutMs) {
    throw new ConfigError(
      `IMGROUP_LOGIC_REQUEST_TIMEOUT_MS (${o.requestTimeoutMs}) is shorter than IMGROUP_REDIS_COMMAND_TIMEOUT_MS (${o.redisCommandTimeoutMs}); a request must be allowed at least one Redis command`,
    );
  }
  for (const [name, bytes] of [['IMGROUP_SYNC_PAGE_BYTES', o.syncPageBytes], ['IMGROUP_REPLAY_MAX_BYTES', o.replayMaxBytes]] as const) {
    if (bytes > o.logReadMaxBytes) {
      throw new ConfigError(`${name} (${bytes}) is larger than IMGROUP_LOGIC_LOG_READ_MAX_BYTES (${o.logReadMaxBytes}); one read could never fit the node's read budget`);
    }
  }
  if (o.minReplicasAck > 0 && 2 * o.replicasAckTimeoutMs > o.redisCommandTimeoutMs) {
    throw new ConfigError(
      `IMGROUP_REDIS_REPLICAS_ACK_TIMEOUT_MS (${o.replicasAckTimeoutMs}) is more than half of IMGROUP_REDIS_COMMAND_TIMEOUT_MS (${o.redisCommandTimeoutMs}); a WAIT holds the connection to its master, so the commands queued behind it would time out — lower the ack timeout or raise the command timeout`,
    );
  }
  if (o.fanoutQueueMax > o.fanoutMaxPending) {
    throw new ConfigError(`IMGROUP_FANOUT_QUEUE_MAX (${o.fanoutQueueMax}) is larger than IMGROUP_FANOUT_MAX_PENDING (${o.fanoutMaxPending}); one group cannot hold more than all groups together`);
  }
  if (o.sweepIntervalMs === 0) return;
  if (o.sweepGraceMs >= o.logRetentionMs) {
    throw new ConfigError(
      `IMGROUP_SWEEP_GRACE_MS (${o.sweepGraceMs}) is not shorter than IMGROUP_LOG_RETENTION_MS (${o.logRetentionMs}); the sweep could never push a retained message (set IMGROUP_SWEEP_INTERVAL_MS=0 to disable it)`,
    );
  }
  if (o.sweepHorizonMs <= o.sweepGraceMs) {
    throw new ConfigError(
      `IMGROUP_SWEEP_HORIZON_MS (${o.sweepHorizonMs}) is not longer than IMGROUP_SWEEP_GRACE_MS (${o.sweepGraceMs}); groups would leave the sweep set before their messages are old enough to sweep`,
    );
  }
}

/** Liveness cache of the presence reader: a quarter heartbeat (see runtime/presence/presence-redis.ts). */
export function gateCacheMs(o: Pick<LogicOptions, 'heartbeatMs'>): number {
  return Math.floor(o.heartbeatMs / 4);
}
