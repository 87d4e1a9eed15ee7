/**
 * What each Redis pod says about itself and the cluster: one CLUSTER NODES (its own node id,
 * role, slots, and its view of every other node), CLUSTER INFO, DBSIZE and INFO replication per pod, asked in
 * parallel, each pod bounded in time. A pod without an IP or that does not answer is reported
 * with the reason, never fatal. This is the only impure part of the lifecycle's planning.
 */
import type { RedisClusterAdmin } from '../../runtime/redis-cluster/cluster-admin.js';
import type { ClusterInfo } from '../../runtime/redis-cluster/cluster-info.js';
import { myselfOf, type ClusterNodeRecord, type ClusterNodesView } from '../../runtime/redis-cluster/cluster-nodes.js';
import { formatAddr, isPort, type Addr } from '../../runtime/redis-cluster/redis-addr.js';
import { parseReplicationInfo, type ReplicationInfo } from './replication-info.js';
import type { RedisPodView } from './lifecycle-types.js';

export interface PodObservation {
  pod: RedisPodView;
  /** Where the pod is reached (pod IP and port); null while it has no IP or a bad port. */
  addr: Addr | null;
  /** Ordinal ≥ the pods the spec asks for: the StatefulSet will remove it after a scale-in. */
  leaving: boolean;
  /** The pod's own record (node id, role, master, slots, bus port), or null when not asked. */
  me: ClusterNodeRecord | null;
  view: ClusterNodesView | null;
  info: ClusterInfo | null;
  /** DBSIZE. */
  keys: number | null;
  /** INFO replication (is a replica's link to its master up?). */
  replication: ReplicationInfo | null;
  /** Why the pod could not be asked; null when it answered. */
  error: string | null;
}

/** A pod that answered, with everything it said. */
export type ReachablePod = PodObservation & { addr: Addr; me: ClusterNodeRecord; view: ClusterNodesView; info: ClusterInfo; keys: number; replication: ReplicationInfo };

export function isReachable(o: PodObservation): o is ReachablePod {
  return o.error === null && o.addr !== null && o.me !== null && o.view !== null && o.info !== null && o.keys !== null && o.replication !== null;
}

/** The address a pod is reached at, or null (no IP yet, or a port outside 1..65535). */
export function podAddr(pod: RedisPodView, defaultPort: number): Addr | null {
  const port = pod.port ?? defaultPort;
  if (!pod.ip || !isPort(port)) return null;
  return { host: pod.ip, port };
}

/** Ask every pod, in parallel; each pod gets at most `timeoutMs`. Never throws. */
export async function observePods(admin: RedisClusterAdmin, pods: readonly RedisPodView[], defaultPort: number, desiredPods: number, timeoutMs: number): Promise<PodObservation[]> {
  return Promise.all(pods.map((pod) => observePod(admin, pod, podAddr(pod, defaultPort), pod.ordinal >= desiredPods, timeoutMs)));
}

async function observePod(admin: RedisClusterAdmin, pod: RedisPodView, addr: Addr | null, leaving: boolean, timeoutMs: number): Promise<PodObservation> {
  const blank: PodObservation = { pod, addr, leaving, me: null, view: null, info: null, keys: null, replication: null, error: null };
  if (!addr) return { ...blank, error: pod.ip ? `port ${pod.port} is not 1..65535` : 'no pod IP yet' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const asked = Promise.all([admin.nodes(addr), admin.clusterInfo(addr), admin.dbSize(addr), admin.command(addr, 'info', 'replication')]);
    asked.catch(() => undefined);
    const [view, info, keys, replication] = await Promise.race([asked, timeout]);
    const me = myselfOf(view);
    if (!me) return { ...blank, error: 'CLUSTER NODES has no valid myself line' };
    if (view.rejected.length > 0) return { ...blank, error: `CLUSTER NODES line ${view.rejected[0]?.lineNo}: ${view.rejected[0]?.reason}` };
    return { ...blank, me, view, info, keys, replication: parseReplicationInfo(replication) };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    // ioredis reports a refused or dropped connection as a retry limit or a closed connection; the
    // admin reports the connection's own error instead when there was one (a socket error, or a
    // refused TLS certificate, which is shown as it is).
    const lost = /max retries per request|connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE/i.test(why);
    return { ...blank, error: lost ? `does not answer at ${formatAddr(addr)} (connection refused or lost)` : why };
  } finally {
    clearTimeout(timer);
  }
}
