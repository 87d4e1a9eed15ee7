/**
 * Synthetic pod observations for the lifecycle planner tests: each node is described once, and
 * every reachable pod's CLUSTER NODES text is generated from that description (what it knows of
 * every other node), then parsed by the real parser.
 */
import { parseClusterInfo } from '../../../../runtime/redis-cluster/cluster-info.js';
import { myselfOf, parseClusterNodes } from '../../../../runtime/redis-cluster/cluster-nodes.js';
import { pictureOf, type ClusterPicture } from '../../../../operator/redis/cluster-picture.js';
import type { RedisLifecycleInput } from '../../../../operator/redis/lifecycle-types.js';
import type { PodObservation } from '../../../../operator/redis/pod-observation.js';
import { parseReplicationInfo } from '../../../../operator/redis/replication-info.js';

export interface FakeNode {
  /** Pod ordinal; null: a node that is no pod. */
  ordinal: number | null;
  /** A short tag; the node id is the tag repeated to 40 characters (hex). */
  id: string;
  role?: 'master' | 'replica';
  /** Master's tag, for replicas. */
  master?: string;
  /** `0-5460 7000` style, as CLUSTER NODES lists them (also `[5->-id]` tokens). */
  slots?: string;
  /** Does not answer (the pod exists, but its observation failed). */
  down?: boolean;
  /** Flags other nodes give it (e.g. ['fail']). */
  flaggedAs?: string[];
  keys?: number;
  ready?: boolean;
  /** Tags of the nodes it knows (itself always); default every node that is not `fresh`. */
  knows?: string[];
  /** Knows only itself. */
  fresh?: boolean;
  /** The address others have for it, when it differs from the pod's (e.g. after a restart). */
  knownAt?: string;
  linkUp?: boolean;
  /** Its cluster_state (default ok). */
  state?: 'ok' | 'fail';
  /** How the other nodes still see it when that differs from its own line (gossip not arrived yet). */
  seenAs?: Pick<FakeNode, 'role' | 'master' | 'slots'>;
}

export const idOf = (tag: string): string => tag.repeat(40).slice(0, 40);
const hostOf = (n: FakeNode) => `10.0.0.${(n.ordinal ?? 90) + 10}`;

function line(own: FakeNode, self: boolean): string {
  const n = self || !own.seenAs ? own : { ...own, master: undefined, slots: undefined, ...own.seenAs };
  const addr = n.knownAt && !self ? n.knownAt : `${hostOf(n)}:6379`;
  const flags = [self ? 'myself' : '', n.role === 'replica' ? 'slave' : 'master', ...(self ? [] : (n.flaggedAs ?? []))].filter(Boolean).join(',');
  return `${idOf(n.id)} ${addr}@16379 ${flags} ${n.master ? idOf(n.master) : '-'} 0 0 1 connected ${n.slots ?? ''}`.trim();
}

export function observations(nodes: readonly FakeNode[], desiredPods: number): PodObservation[] {
  return nodes
    .filter((n) => n.ordinal !== null)
    .map((n): PodObservation => {
      const pod = { name: `redis-${n.ordinal}`, ordinal: n.ordinal as number, ip: hostOf(n), ready: n.ready ?? !n.down };
      const addr = { host: hostOf(n), port: 6379 };
      const leaving = (n.ordinal as number) >= desiredPods;
      if (n.down) return { pod, addr, leaving, me: null, view: null, info: null, keys: null, replication: null, error: 'does not answer' };
      const known = n.fresh ? [n] : nodes.filter((o) => o === n || (n.knows ? n.knows.includes(o.id) : !o.fresh));
      const view = parseClusterNodes(known.map((o) => line(o, o === n)).join('\n'));
      if (view.rejected.length > 0) throw new Error(`bad fixture line: ${view.rejected[0]?.reason}`);
      const slotsAssigned = known.some((o) => o.slots) ? 16384 : 0;
      const replication = n.role === 'replica' ? `role:slave\r\nmaster_link_status:${n.linkUp === false ? 'down' : 'up'}\r\nmaster_sync_in_progress:0\r\nmaster_link_down_since_seconds:${n.linkUp === false ? 600 : 0}\r\n` : 'role:master\r\n';
      return {
        pod,
        addr,
        leaving,
        me: myselfOf(view) ?? null,
        view,
        info: parseClusterInfo(`cluster_state:${n.state ?? 'ok'}\r\ncluster_slots_assigned:${slotsAssigned}\r\n`),
        keys: n.keys ?? 0,
        replication: parseReplicationInfo(replication),
        error: null,
      };
    });
}

export function picture(nodes: readonly FakeNode[], desiredPods: number): ClusterPicture {
  return pictureOf(observations(nodes, desiredPods), desiredPods);
}

export function input(nodes: readonly FakeNode[], masters: number, replicasPerMaster: number, statefulSetReplicas?: number): RedisLifecycleInput {
  const pods = observations(nodes, masters * (1 + replicasPerMaster)).map((o) => o.pod);
  return { pods, masters, replicasPerMaster, port: 6379, statefulSetReplicas: statefulSetReplicas ?? pods.length };
}

/** A healthy cluster: masters 0..m-1 with even slots, replica ordinals m.. following master (i+1) mod m. */
export function healthyCluster(masters: number, replicasPerMaster: number): FakeNode[] {
  const ranges = [[0, 5461], [5462, 10922], [10923, 16383]];
  const even = masters === 3 ? ranges : Array.from({ length: masters }, (_, i) => [Math.floor((16384 * i) / masters), Math.floor((16384 * (i + 1)) / masters) - 1]);
  const tags = 'abcdef0123456789';
  const nodes: FakeNode[] = even.map(([a, b], i) => ({ ordinal: i, id: tags[i] as string, role: 'master', slots: `${a}-${b}` }));
  for (let r = 0; r < masters * replicasPerMaster; r++) {
    nodes.push({ ordinal: masters + r, id: tags[masters + r] as string, role: 'replica', master: tags[(r + 1) % masters] as string });
  }
  return nodes;
}
