/**
 * Is the cluster healthy? Judged from what every node says about itself (CLUSTER INFO) and about
 * the others (CLUSTER NODES), never from one node's word: each node must report
 * `cluster_state:ok`, see all 16384 slots served, see no failing or half-known nodes and no open
 * (migrating/importing) slots, and all nodes must agree on the slot map. Pure.
 */
import type { ClusterInfo } from './cluster-info.js';
import { myselfOf, type ClusterNodesView } from './cluster-nodes.js';
import { formatAddr, type Addr } from './redis-addr.js';
import { SLOT_COUNT, formatSlotRanges } from './slot-ranges.js';
import { slotMapOf } from './slot-map.js';

/** What one node said, or why it said nothing. */
export interface NodeObservation {
  addr: Addr;
  info: ClusterInfo | null;
  view: ClusterNodesView | null;
  /** Set when the node could not be asked (connection refused, timeout, auth …). */
  error: string | null;
}

export interface HealthExpectation {
  /** Each node must know exactly this many nodes (itself included). */
  knownNodes?: number;
  /** Each replica (by address) must follow this master (by address). */
  replicaOf?: ReadonlyArray<{ replica: Addr; master: Addr }>;
  /** Each master that serves slots must have at least this many healthy replicas. */
  minReplicasPerMaster?: number;
}

export interface ClusterHealth {
  healthy: boolean;
  /** Human-readable, one per problem, each naming the node that reported it (bounded). */
  problems: string[];
  /** The agreed slot map's signature, when all nodes agree. */
  slotMapSignature: string | null;
}

const MAX_PROBLEMS = 32;

export function assessClusterHealth(observations: readonly NodeObservation[], expect: HealthExpectation = {}): ClusterHealth {
  const problems: string[] = [];
  const say = (addr: Addr, what: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(`${formatAddr(addr)}: ${what}`);
  };
  if (observations.length === 0) return { healthy: false, problems: ['no nodes to observe'], slotMapSignature: null };

  const idOf = new Map<string, string>();
  const signatures = new Set<string>();
  for (const o of observations) {
    if (o.error !== null || !o.info || !o.view) {
      say(o.addr, `unreachable (${o.error ?? 'no reply'})`);
      continue;
    }
    const { info, view } = o;
    if (info.state !== 'ok') say(o.addr, `cluster_state:${info.state}`);
    if (view.rejected.length > 0) say(o.addr, `CLUSTER NODES has ${view.rejected.length} malformed line(s): ${view.rejected[0]?.reason}`);
    const me = myselfOf(view);
    if (me) idOf.set(formatAddr(o.addr), me.id);
    else say(o.addr, 'CLUSTER NODES lists no myself line');

    const map = slotMapOf(view.nodes);
    signatures.add(map.signature);
    if (map.covered !== SLOT_COUNT) say(o.addr, `${SLOT_COUNT - map.covered} slots not served: ${formatSlotRanges(map.uncovered.slice(0, 5))}`);
    if (map.conflicting.length > 0) say(o.addr, `slots claimed twice: ${formatSlotRanges(map.conflicting.slice(0, 5))}`);
    for (const n of view.nodes) {
      const bad = ['fail', 'pfail', 'handshake', 'noaddr'].filter((f) => n.flags.has(f as 'fail'));
      if (bad.length > 0) say(o.addr, `sees node ${n.id.slice(0, 8)} (${n.host}:${n.port}) as ${bad.join(',')}`);
      if (n.migrating.length + n.importing.length > 0) say(o.addr, `node ${n.id.slice(0, 8)} has open slots`);
    }
    if (expect.knownNodes !== undefined && view.nodes.length !== expect.knownNodes) {
      say(o.addr, `knows ${view.nodes.length} nodes, expected ${expect.knownNodes}`);
    }
  }
  if (signatures.size > 1) problems.push(`nodes disagree on the slot map (${signatures.size} different views)`);

  for (const { replica, master } of expect.replicaOf ?? []) {
    const obs = observations.find((o) => formatAddr(o.addr) === formatAddr(replica));
    const me = obs?.view ? myselfOf(obs.view) : undefined;
    const masterId = idOf.get(formatAddr(master));
    if (!me || !masterId) continue; // already reported above
    if (me.role !== 'replica' || me.masterId !== masterId) {
      say(replica, `is ${me.role} of ${me.masterId ?? 'nobody'}, expected replica of ${formatAddr(master)}`);
      continue;
    }
    // Every other node must have heard it too (gossip): until then its view still counts the
    // replica as an empty master, and a failover there would find no replica to promote.
    for (const o of observations) {
      const seen = o.view?.nodes.find((n) => n.id === me.id);
      if (seen && (seen.role !== 'replica' || seen.masterId !== masterId)) say(o.addr, `still sees ${formatAddr(replica)} as ${seen.role}, expected replica of ${formatAddr(master)}`);
    }
  }

  const first = observations.find((o) => o.view)?.view;
  if (expect.minReplicasPerMaster !== undefined && first) {
    for (const m of first.nodes.filter((n) => n.role === 'master' && n.slots.length > 0)) {
      const replicas = first.nodes.filter((n) => n.masterId === m.id && !n.flags.has('fail') && !n.flags.has('pfail')).length;
      if (replicas < expect.minReplicasPerMaster) problems.push(`master ${m.host}:${m.port} has ${replicas} replicas, expected at least ${expect.minReplicasPerMaster}`);
    }
  }

  const healthy = problems.length === 0;
  return { healthy, problems, slotMapSignature: signatures.size === 1 ? ([...signatures][0] as string) : null };
}
