/**
 * Options shared by gate and logic processes. Each process's config.ts adds its own specs.
 */
import { LOG_LEVELS } from '../ops/logger.js';
import { isValidNodeName, NODE_NAME_RULE } from '../protocol/internal-frames.js';
import { readRedisTls, RedisTlsError } from '../redis/redis-tls.js';
import type { RedisConnectOptions } from '../redis/redis-store.js';
import { boolOption, ConfigError, intOption, listOption, type OptionValues, secretOption, stringOption } from './options.js';

export const COMMON_OPTIONS = [
  stringOption({ key: 'mode', env: 'IMGROUP_MODE', flag: 'mode', default: 'development', choices: ['development', 'production'], doc: 'In production mode every secret must be set explicitly; development mode falls back to insecure local defaults with a warning.' }),
  stringOption({ key: 'logLevel', env: 'IMGROUP_LOG_LEVEL', flag: 'log-level', default: 'info', choices: LOG_LEVELS, doc: 'Log level of the JSON logs on stdout.' }),
  stringOption({ key: 'name', env: 'IMGROUP_NODE_NAME', flag: 'name', doc: 'Stable node name (the pod name on Kubernetes). Default: the host name. Must be unique per process.' }),
  listOption({ key: 'redisSeeds', env: 'IMGROUP_REDIS_SEEDS', flag: 'redis-seeds', default: ['127.0.0.1:7000'], doc: 'Comma-separated host:port seeds of the Redis Cluster.' }),
  secretOption({ key: 'redisPassword', env: 'IMGROUP_REDIS_PASSWORD', flag: 'redis-password', doc: 'Password (requirepass/masterauth) of the Redis Cluster, if any.' }),
  boolOption({ key: 'redisTls', env: 'IMGROUP_REDIS_TLS', flag: 'redis-tls', default: false, doc: 'Connect to every Redis node with TLS (Redis started with tls-port; see "Redis TLS"): the server certificate must be signed by IMGROUP_REDIS_TLS_CA_FILE (else a public CA) and name the host connected to (the seed or announced host name, or an IP SAN for an IP).' }),
  stringOption({ key: 'redisTlsCaFile', env: 'IMGROUP_REDIS_TLS_CA_FILE', flag: 'redis-tls-ca-file', doc: 'PEM file of the CA certificates that sign the Redis nodes\' certificates (the ca.crt of the Redis TLS Secret); read at start-up. Needs IMGROUP_REDIS_TLS=true. Default: Node\'s built-in public CAs.' }),
  stringOption({ key: 'redisTlsCertFile', env: 'IMGROUP_REDIS_TLS_CERT_FILE', flag: 'redis-tls-cert-file', doc: 'PEM client certificate presented to Redis, for Redis run with tls-auth-clients yes; with IMGROUP_REDIS_TLS_KEY_FILE. Default: none (the operator runs Redis with tls-auth-clients optional and password auth).' }),
  stringOption({ key: 'redisTlsKeyFile', env: 'IMGROUP_REDIS_TLS_KEY_FILE', flag: 'redis-tls-key-file', doc: 'PEM private key of IMGROUP_REDIS_TLS_CERT_FILE.' }),
  intOption({ key: 'redisCommandTimeoutMs', env: 'IMGROUP_REDIS_COMMAND_TIMEOUT_MS', flag: 'redis-command-timeout-ms', default: 2000, min: 50, max: 60_000, doc: 'A Redis command without reply after this long fails; clients get UNAVAILABLE and retry.' }),
  intOption({ key: 'redisMaxPendingCommands', env: 'IMGROUP_REDIS_MAX_PENDING_COMMANDS', flag: 'redis-max-pending-commands', default: 100_000, min: 1, max: 10_000_000, doc: 'Redis commands this process may have sent or queued and not yet answered (a pipeline counts each command); beyond it commands fail at once (retryable: clients get UNAVAILABLE) instead of piling up behind a Redis node that is slow or gone.' }),
  intOption({ key: 'redisMaxPendingBytes', env: 'IMGROUP_REDIS_MAX_PENDING_BYTES', flag: 'redis-max-pending-bytes', default: 64 * 1024 * 1024, min: 1024 * 1024, max: 16 * 1024 * 1024 * 1024, doc: 'Bytes of the arguments of pending Redis commands (plus 64 per command) this process may hold; beyond it commands fail at once, as for IMGROUP_REDIS_MAX_PENDING_COMMANDS.' }),
  secretOption({ key: 'internalToken', env: 'IMGROUP_INTERNAL_TOKEN', flag: 'internal-token', requiredInProduction: true, doc: 'Shared secret that authenticates gate↔logic connections.' }),
  intOption({ key: 'heartbeatMs', env: 'IMGROUP_HEARTBEAT_MS', flag: 'heartbeat-ms', default: 15_000, min: 200, max: 600_000, doc: 'Heartbeat interval: client pings (spread over the interval, a sixteenth of the connections at a time), gate liveness in Redis (a dead gate’s users are offline within 2 intervals), internal link pings.' }),
  stringOption({ key: 'opsHost', env: 'IMGROUP_OPS_HOST', flag: 'ops-host', default: '0.0.0.0', doc: 'Listen address of the ops port (/healthz, /readyz, /metrics).' }),
  intOption({ key: 'handshakeTimeoutMs', env: 'IMGROUP_HANDSHAKE_TIMEOUT_MS', flag: 'handshake-timeout-ms', default: 5000, min: 100, max: 600_000, doc: 'A TCP connection to any port of the process (client, internal, ops) that has not sent a complete HTTP request or WebSocket upgrade within this many ms of connecting is closed (each costs a file descriptor).' }),
  intOption({ key: 'refusalLogIntervalMs', env: 'IMGROUP_REFUSAL_LOG_INTERVAL_MS', flag: 'refusal-log-interval-ms', default: 10_000, min: 0, max: 3_600_000, doc: 'Refused connections and requests (bad tokens, unfinished handshakes, per-user limit) are counted in metrics and logged at most once per kind per this many ms, with the number not logged since; 0 logs each one.' }),
] as const;

/** Development fallback for IMGROUP_INTERNAL_TOKEN (never accepted in production mode). */
export const DEV_INTERNAL_TOKEN = 'imgroup-dev-internal-token';

/** What resolveCommonOptions fills in: the node name and the internal token always have a value. */
export interface ResolvedCommon {
  /** The host name when IMGROUP_NODE_NAME is not set. */
  name: string;
  /** The development fallback when IMGROUP_INTERNAL_TOKEN is not set (development mode only). */
  internalToken: string;
}

/** The options of a process whose specs include COMMON_OPTIONS, after resolveCommonOptions. */
export type WithCommon<V> = Omit<V, keyof ResolvedCommon> & ResolvedCommon;

/** The shared options, typed. GateOptions and LogicOptions include them. */
export type CommonOptions = WithCommon<OptionValues<typeof COMMON_OPTIONS>>;

/**
 * A secret with a development fallback: the value when set; otherwise, in development mode, the
 * fallback plus a warning; production mode refuses both a missing value and the fallback itself.
 */
export function secretOrDevDefault(value: unknown, fallback: string, setting: string, mode: CommonOptions['mode'], warnings: string[]): string {
  if (typeof value === 'string' && value.length > 0) {
    if (mode === 'production' && value === fallback) throw new ConfigError(`${setting} is the public development default; set a secret of your own in production mode`);
    return value;
  }
  if (mode === 'production') throw new ConfigError(`${setting} must be set in production mode`);
  warnings.push(`${setting} is not set: using an insecure development default (not allowed with IMGROUP_MODE=production)`);
  return fallback;
}

/** Check the shared options and fill in name and internal token; `hostname` is the default node name. */
export function resolveCommonOptions(raw: OptionValues<typeof COMMON_OPTIONS>, hostname: string, warnings: string[]): ResolvedCommon {
  const name = raw.name !== undefined && raw.name.length > 0 ? raw.name : hostname;
  if (!isValidNodeName(name)) throw new ConfigError(`IMGROUP_NODE_NAME (or --name): ${JSON.stringify(name)} must be ${NODE_NAME_RULE}`);
  if (raw.redisSeeds.length === 0) throw new ConfigError('IMGROUP_REDIS_SEEDS (or --redis-seeds) names no seed; give at least one host:port');
  for (const seed of raw.redisSeeds) {
    if (!/^\[?[^\]\s]+\]?:\d{1,5}$/.test(seed)) throw new ConfigError(`IMGROUP_REDIS_SEEDS (or --redis-seeds): ${JSON.stringify(seed)} is not host:port`);
  }
  checkRedisTlsOptions(raw);
  return { name, internalToken: secretOrDevDefault(raw.internalToken, DEV_INTERNAL_TOKEN, 'IMGROUP_INTERNAL_TOKEN', raw.mode, warnings) };
}

/** The Redis TLS settings that make no sense together (files are read later, by redisConnectOptions). */
function checkRedisTlsOptions(raw: OptionValues<typeof COMMON_OPTIONS>): void {
  const files = [
    ['IMGROUP_REDIS_TLS_CA_FILE', raw.redisTlsCaFile],
    ['IMGROUP_REDIS_TLS_CERT_FILE', raw.redisTlsCertFile],
    ['IMGROUP_REDIS_TLS_KEY_FILE', raw.redisTlsKeyFile],
  ] as const;
  const given = files.filter(([, v]) => v !== undefined && v.length > 0).map(([name]) => name);
  if (!raw.redisTls && given.length > 0) {
    throw new ConfigError(`${given.join(' and ')} set but IMGROUP_REDIS_TLS (or --redis-tls) is false: set IMGROUP_REDIS_TLS=true to connect to Redis with TLS, or unset ${given.length > 1 ? 'them' : 'it'}`);
  }
  if (given.includes('IMGROUP_REDIS_TLS_CERT_FILE') !== given.includes('IMGROUP_REDIS_TLS_KEY_FILE')) {
    throw new ConfigError('IMGROUP_REDIS_TLS_CERT_FILE and IMGROUP_REDIS_TLS_KEY_FILE go together: set both (a client certificate for Redis) or neither');
  }
}

/**
 * How this process connects to Redis: seeds, password, command timeout and, with IMGROUP_REDIS_TLS,
 * the TLS material, whose files are read and checked here. Called once at start-up (main.ts);
 * throws ConfigError naming the setting when a file is unusable.
 */
export function redisConnectOptions(o: Pick<CommonOptions, 'redisSeeds' | 'redisPassword' | 'redisCommandTimeoutMs' | 'redisTls' | 'redisTlsCaFile' | 'redisTlsCertFile' | 'redisTlsKeyFile'>): RedisConnectOptions {
  const base: RedisConnectOptions = { seeds: o.redisSeeds, password: o.redisPassword, commandTimeoutMs: o.redisCommandTimeoutMs };
  if (!o.redisTls) return base;
  try {
    const file = (path: string | undefined) => (path !== undefined && path.length > 0 ? path : undefined);
    const tls = readRedisTls(
      { caFile: file(o.redisTlsCaFile), certFile: file(o.redisTlsCertFile), keyFile: file(o.redisTlsKeyFile) },
      { ca: 'IMGROUP_REDIS_TLS_CA_FILE', cert: 'IMGROUP_REDIS_TLS_CERT_FILE', key: 'IMGROUP_REDIS_TLS_KEY_FILE' },
    );
    return { ...base, tls };
  } catch (err) {
    if (err instanceof RedisTlsError) throw new ConfigError(err.message);
    throw err;
  }
}
