/**
 * Options shared by gate and logic processes. Each process's config.ts adds its own specs.
 */
import type { OptionSpec } from './options.js';

export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { key: 'mode', env: 'IMGROUP_MODE', flag: 'mode', kind: 'string', default: 'development', choices: ['development', 'production'], doc: 'In production mode every secret must be set explicitly; development mode falls back to insecure local defaults with a warning.' },
  { key: 'logLevel', env: 'IMGROUP_LOG_LEVEL', flag: 'log-level', kind: 'string', default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], doc: 'Log level of the JSON logs on stdout.' },
  { key: 'name', env: 'IMGROUP_NODE_NAME', flag: 'name', kind: 'string', doc: 'Stable node name (the pod name on Kubernetes). Default: the host name. Must be unique per process.' },
  { key: 'redisSeeds', env: 'IMGROUP_REDIS_SEEDS', flag: 'redis-seeds', kind: 'list', default: ['127.0.0.1:7000'], doc: 'Comma-separated host:port seeds of the Redis Cluster.' },
  { key: 'redisPassword', env: 'IMGROUP_REDIS_PASSWORD', flag: 'redis-password', kind: 'secret', doc: 'Password (requirepass/masterauth) of the Redis Cluster, if any.' },
  { key: 'redisCommandTimeoutMs', env: 'IMGROUP_REDIS_COMMAND_TIMEOUT_MS', flag: 'redis-command-timeout-ms', kind: 'int', default: 2000, min: 50, max: 60_000, doc: 'A Redis command without reply after this long fails; clients get UNAVAILABLE and retry.' },
  { key: 'internalToken', env: 'IMGROUP_INTERNAL_TOKEN', flag: 'internal-token', kind: 'secret', requiredInProduction: true, doc: 'Shared secret that authenticates gate↔logic connections.' },
  { key: 'heartbeatMs', env: 'IMGROUP_HEARTBEAT_MS', flag: 'heartbeat-ms', kind: 'int', default: 15_000, min: 200, max: 600_000, doc: 'Heartbeat interval: client pings, gate liveness in Redis (a dead gate’s users are offline within 2 intervals), internal link pings.' },
  { key: 'opsHost', env: 'IMGROUP_OPS_HOST', flag: 'ops-host', kind: 'string', default: '0.0.0.0', doc: 'Listen address of the ops port (/healthz, /readyz, /metrics).' },
];

/** Development fallback for IMGROUP_INTERNAL_TOKEN (never accepted in production mode). */
export const DEV_INTERNAL_TOKEN = 'imgroup-dev-internal-token';
