/**
 * The plan for a brand-new cluster made of the pods the spec asks for: the lowest `masters`
 * ordinals become the masters (so a later scale-in, which removes the highest ordinals, takes
 * replicas first) with an even split of the 16384 slots in ordinal order, and the other pods
 * are placed as replicas by replica-placement.ts (failure domain, then ordinal anti-affinity).
 * Pure; throws a RangeError when the pods do not fit the spec.
 */
import type { ClusterPlan } from '../../runtime/redis-cluster/cluster-plan.js';
import type { ReachablePod } from './pod-observation.js';
import { placeReplicas } from './replica-placement.js';
import { evenSlotRanges, type SlotRange } from '../../runtime/redis-cluster/slot-ranges.js';

export function planBootstrap(pods: readonly ReachablePod[], masters: number, replicasPerMaster: number): ClusterPlan {
  const sorted = [...pods].sort((a, b) => a.pod.ordinal - b.pod.ordinal);
  const want = masters * (1 + replicasPerMaster);
  if (sorted.length !== want) throw new RangeError(`bootstrap needs ${want} pods for ${masters} masters × ${1 + replicasPerMaster}, got ${sorted.length}`);
  const ranges = evenSlotRanges(masters);
  const masterPods = sorted.slice(0, masters);
  const replicaPods = sorted.slice(masters);
  const node = (o: ReachablePod) => ({ key: o.pod.name, ordinal: o.pod.ordinal, domain: o.pod.failureDomain ?? null });
  const placed = placeReplicas(
    masterPods.map((o) => ({ ...node(o), replicas: [] })),
    replicaPods.map(node),
    replicasPerMaster,
    masters,
  );
  const byName = new Map(sorted.map((o) => [o.pod.name, o]));
  const member = (o: ReachablePod) => ({ ...o.addr, ...(o.pod.failureDomain ? { failureDomain: o.pod.failureDomain } : {}) });
  return {
    masters: masterPods.map((o, i) => ({ addr: member(o), slots: [ranges[i] as SlotRange] })),
    replicas: placed.map((p) => ({ addr: member(byName.get(p.replica) as ReachablePod), master: (byName.get(p.master) as ReachablePod).addr })),
  };
}
