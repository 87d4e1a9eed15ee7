/**
 * The configuration of one Redis Cluster node, as redis-server command-line arguments (no config
 * file: the pod spec shows the whole configuration, and a changed configuration rolls the
 * StatefulSet). In the pod spec the per-pod values are Kubernetes `$(VAR)` references that the
 * kubelet expands from the container's env (POD_IP, POD_NAME, REDIS_PASSWORD); a local node agent
 * can expand the same references (env-references.ts) or call `redisServerArgs` with real values.
 */
import { type RedisServerTlsFiles, redisServerTlsArgs } from '../../runtime/redis/redis-server-tls.js';
import type { ClusterContext } from './cluster-context.js';
import { REDIS_BUS_PORT, REDIS_PORT } from './ports.js';
import { redisServerTlsFiles } from './redis-tls.js';

export interface RedisNodeConfig {
  /** Address the server listens on: the pod IP (kubelet probes and peers use it). */
  bindAddress: string;
  port: number;
  /** Cluster bus port. */
  busPort: number;
  /** Working directory on the pod's volume: nodes.conf and the append-only file live here. */
  dir: string;
  /** IP announced to the other nodes (`cluster-announce-ip`): the pod IP, which changes on restart. */
  announceIp: string;
  /** Stable DNS name announced for clients (`cluster-announce-hostname`), or null for none. */
  announceHostname: string | null;
  /** What MOVED/ASK redirects and CLUSTER SLOTS name first: the hostname (stable) or the IP. */
  preferredEndpointType: 'hostname' | 'ip';
  /** requirepass and masterauth. */
  password: string;
  /** `cluster-node-timeout`: a master unreachable this long is failed over. */
  nodeTimeoutMs: number;
  /** Append-only file (a restarted node keeps its keys), fsynced as REDIS_APPENDFSYNC says. */
  appendOnly: boolean;
  /** TLS only, on `port`, the bus and replication (spec.redis.tls); null or absent: plain TCP. */
  tls?: RedisServerTlsFiles | null;
}

/**
 * `appendfsync` of every node with an append-only file: `everysec` — write() before each reply
 * (a crashed redis-server process loses nothing the kernel has; a lost machine up to about a
 * second, two when the disk stalls), fsync once a second in the background. `always` (fsync
 * before each reply) measured 4–5× fewer XADDs per second and ~7× the median latency here (README,
 * Durability); what a single pod failure loses is decided by replication, see spec.redis.minReplicasAck.
 */
export const REDIS_APPENDFSYNC = 'everysec';

/** Env vars the pod spec's arguments refer to. */
export const REDIS_ENV = { podIp: 'POD_IP', podName: 'POD_NAME', password: 'REDIS_PASSWORD' } as const;
/** Mount path of the Redis pod's volume. */
export const REDIS_DATA_DIR = '/data';
export const REDIS_NODE_TIMEOUT_MS = 5000;

/** `N-redis-<i>.N-redis.NS.svc`: the stable DNS name of Redis pod `i` (headless Service N-redis). */
export function redisPodHost(ctx: Pick<ClusterContext, 'names' | 'namespace'>, ordinal: number | string): string {
  return `${ctx.names.redis}-${ordinal}.${ctx.names.redis}.${ctx.namespace}.svc`;
}

/** The configuration in the pod spec, per-pod values as `$(VAR)` references. */
export function podRedisNodeConfig(ctx: ClusterContext): RedisNodeConfig {
  return {
    bindAddress: `$(${REDIS_ENV.podIp})`,
    port: REDIS_PORT,
    busPort: REDIS_BUS_PORT,
    dir: REDIS_DATA_DIR,
    announceIp: `$(${REDIS_ENV.podIp})`,
    announceHostname: `$(${REDIS_ENV.podName}).${ctx.names.redis}.${ctx.namespace}.svc`,
    preferredEndpointType: 'hostname',
    password: `$(${REDIS_ENV.password})`,
    nodeTimeoutMs: REDIS_NODE_TIMEOUT_MS,
    appendOnly: true,
    tls: redisServerTlsFiles(ctx),
  };
}

/** redis-server arguments (after the program name) for one node. */
export function redisServerArgs(c: RedisNodeConfig): string[] {
  if (c.preferredEndpointType === 'hostname' && c.announceHostname === null) {
    throw new RangeError('redis node config: preferredEndpointType hostname needs an announceHostname');
  }
  const args = [
    ...(c.tls ? redisServerTlsArgs(c.port, c.tls) : ['--port', String(c.port)]),
    '--bind', c.bindAddress,
    '--daemonize', 'no',
    '--dir', c.dir,
    '--cluster-enabled', 'yes',
    '--cluster-config-file', `${c.dir}/nodes.conf`,
    '--cluster-port', String(c.busPort),
    '--cluster-node-timeout', String(c.nodeTimeoutMs),
    '--cluster-announce-ip', c.announceIp,
  ];
  if (c.announceHostname !== null) args.push('--cluster-announce-hostname', c.announceHostname);
  args.push(
    '--cluster-preferred-endpoint-type', c.preferredEndpointType,
    '--appendonly', c.appendOnly ? 'yes' : 'no',
    ...(c.appendOnly ? ['--appendfsync', REDIS_APPENDFSYNC] : []),
    '--requirepass', c.password,
    '--masterauth', c.password,
  );
  return args;
}
