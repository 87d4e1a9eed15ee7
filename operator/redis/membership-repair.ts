/**
 * Who knows whom: re-introducing nodes and forgetting nodes. Pure planning over a ClusterPicture.
 *
 * CLUSTER MEET (node identity is the node id; the address comes from the pod list):
 * - a member that knows pod Q's node id at another address (or flagged noaddr) meets Q at the
 *   address the API gives: Redis then updates the address of the node it already knows. After
 *   all pods restarted on new IPs every member meets every other pod (n·(n−1) MEETs).
 * - a pod that is not known to a member joins only if it is fresh (knows nobody, serves nothing,
 *   holds no key) and staying, met by the first member (gossip tells the others), or if it
 *   knows that member already (it is one of ours that the member lost). A pod that belongs to
 *   another cluster is never merged in; a leaving pod is never (re-)joined, only re-addressed.
 *
 * CLUSTER FORGET, on every member that still knows the node (leaving pods: role-repair.ts):
 * - a node that no pod is (only decided when every pod answered, so that an unreachable pod's
 *   node is never taken for a stranger) and that nothing points to: it serves no slot, no
 *   node follows it and no open slot names it.
 */
import { isFresh, sameAddr, type ClusterPicture } from './cluster-picture.js';
import type { LifecycleOp } from './lifecycle-ops.js';
import type { ReachablePod } from './pod-observation.js';
import { formatAddr, type Addr } from '../../runtime/redis-cluster/redis-addr.js';

export function planMeets(picture: ClusterPicture, maxMeets: number): LifecycleOp[] {
  const ops: LifecycleOp[] = [];
  const first = picture.voters[0];
  for (const q of picture.reachable) {
    const fresh = isFresh(q);
    const target = { ...q.addr, busPort: q.me.busPort };
    for (const p of picture.voters) {
      if (p === q || p.leaving || ops.length >= maxMeets) continue;
      const entry = p.view.nodes.find((n) => n.id === q.me.id);
      if (entry && !entry.flags.has('handshake')) {
        if (sameAddr(entry, q.addr) && !entry.flags.has('noaddr')) continue;
        ops.push(meet(p, q, target, `${p.pod.name} knew ${q.pod.name} at ${entry.host}:${entry.port}; meeting it at ${formatAddr(q.addr)}`));
        continue;
      }
      // A leaving pod is only ever re-addressed, never (re-)joined: it may have been forgotten on purpose.
      if (q.leaving) continue;
      const knowsP = q.view.nodes.some((n) => n.id === p.me.id);
      if (!(fresh ? p === first : knowsP)) continue;
      if (handshaking(p, q)) continue;
      ops.push(meet(p, q, target, fresh ? `${q.pod.name} joins the cluster (met by ${p.pod.name})` : `${p.pod.name} lost ${q.pod.name}; meeting it again at ${formatAddr(q.addr)}`));
    }
  }
  return ops;
}

function meet(p: ReachablePod, q: ReachablePod, target: Addr & { busPort: number | null }, message: string): LifecycleOp {
  return { kind: 'meet', at: { addr: p.addr, pod: p.pod.name }, target, message };
}

/** P already shakes hands with Q's address (a MEET of an earlier step is in flight). */
function handshaking(p: ReachablePod, q: ReachablePod): boolean {
  return p.view.nodes.some((n) => n.flags.has('handshake') && sameAddr(n, q.addr));
}

export function planForgets(picture: ClusterPicture): LifecycleOp[] {
  const ops: LifecycleOp[] = [];
  const knowers = (id: string) => picture.voters.filter((m) => m.me.id !== id && m.view.nodes.some((n) => n.id === id));
  const forget = (id: string, what: string) => {
    const at = knowers(id);
    if (at.length === 0) return;
    ops.push({ kind: 'forget', id, at: at.map((m) => ({ addr: m.addr, pod: m.pod.name })), message: `forgetting ${what} on ${at.map((m) => m.pod.name).join(', ')}` });
  };

  if (!picture.observations.every((o) => o.error === null)) return ops;
  const referenced = new Set<string>();
  for (const m of picture.reachable) {
    for (const n of m.view.nodes) {
      if (n.masterId) referenced.add(n.masterId);
      if (n.slots.length > 0) referenced.add(n.id);
      for (const x of n.migrating) referenced.add(x.to);
      for (const x of n.importing) referenced.add(x.from);
    }
  }
  for (const [id, node] of picture.nodes) {
    if (picture.podOfId.has(id) || referenced.has(id)) continue;
    forget(id, `node ${id.slice(0, 8)} (${node.record.host}:${node.record.port}, no pod has it)`);
  }
  return ops;
}
