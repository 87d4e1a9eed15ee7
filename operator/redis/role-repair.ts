/**
 * Roles: which masters keep slots, which replicas follow whom, which leaving masters hand their
 * role over, and which leaving nodes are reset. Pure planning over a ClusterPicture.
 *
 * - Keepers (see slot-balance.ts chooseKeepers) are chosen only when `settled` (every pod the
 *   spec asks for answered and is a joined member); before that the staying masters that serve
 *   slots stand in, and no empty master is touched.
 * - A staying replica has lost its master when that master is unknown, not a master, failing
 *   without slots, or (settled) an empty master that is no keeper — e.g. a drained or leaving
 *   master. Such replicas, the empty non-keeper masters (settled), and replicas beyond
 *   `replicasPerMaster` of a keeper (only while another keeper lacks replicas) are attached with
 *   CLUSTER REPLICATE to the keepers that lack replicas, placed by replica-placement.ts.
 * - A leaving master that serves slots and has a staying replica: CLUSTER FAILOVER on that
 *   replica (no key moves), when the cluster is stable.
 * - Leaving nodes are forgotten everywhere and then reset once the cluster is drained (see
 *   planDepartures).
 */
import { chooseKeepers } from './slot-balance.js';
import { isJoined, type ClusterPicture } from './cluster-picture.js';
import type { LifecycleOp } from './lifecycle-ops.js';
import type { ReachablePod } from './pod-observation.js';
import { placeReplicas, placementPenalty, type PlacementMaster, type PlacementNode } from './replica-placement.js';

export interface RoleSpec {
  masters: number;
  replicasPerMaster: number;
}

export interface RolePlan {
  /** Masters that keep (or get) slots, by ordinal. */
  keepers: ReachablePod[];
  /** CLUSTER REPLICATE ops. */
  replicate: LifecycleOp[];
}

export function planRoles(picture: ClusterPicture, spec: RoleSpec, settled: boolean): RolePlan {
  const staying = picture.reachable.filter((o) => !o.leaving && isJoined(picture, o));
  const failing = (id: string | null) => (id ? picture.nodes.get(id)?.failing === true : false);
  const slotCount = (o: ReachablePod) => picture.nodes.get(o.me.id)?.slotCount ?? 0;
  const masters = staying.filter((o) => o.me.role === 'master' && !failing(o.me.id));
  const keepers = settled
    ? chooseKeepers(masters.map((o) => ({ o, slotCount: slotCount(o), ordinal: o.pod.ordinal })), spec.masters).map((k) => k.o)
    : masters.filter((o) => slotCount(o) > 0);
  keepers.sort((a, b) => a.pod.ordinal - b.pod.ordinal);
  const keeperIds = new Set(keepers.map((k) => k.me.id));

  const lostMaster = (id: string | null): boolean => {
    const x = id ? picture.nodes.get(id) : undefined;
    if (!x) return true;
    if ((x.pod?.me.role ?? x.record.role) !== 'master') return true;
    if (x.slotCount > 0) return false;
    if (x.failing) return true;
    return settled && !keeperIds.has(x.id);
  };
  const replicas = staying.filter((o) => o.me.role === 'replica' && !failing(o.me.id));
  const lost = replicas.filter((o) => lostMaster(o.me.masterId));
  const emptyMasters = settled ? masters.filter((o) => slotCount(o) === 0 && !keeperIds.has(o.me.id)) : [];

  const placement = (o: ReachablePod): PlacementNode => ({ key: o.me.id, ordinal: o.pod.ordinal, domain: o.pod.failureDomain ?? null });
  const followers = (k: ReachablePod) => replicas.filter((o) => o.me.masterId === k.me.id && !lost.includes(o));
  const targets: PlacementMaster[] = keepers.map((k) => ({ ...placement(k), replicas: followers(k).map(placement) }));

  const spares = [...lost, ...emptyMasters].map(placement);
  const lacking = () => targets.some((t) => t.replicas.length < spec.replicasPerMaster);
  if (lacking() && spares.length < targets.reduce((n, t) => n + Math.max(0, spec.replicasPerMaster - t.replicas.length), 0)) {
    for (const t of targets) {
      if (t.replicas.length <= spec.replicasPerMaster) continue;
      const byWorst = [...t.replicas].sort((a, b) => placementPenalty({ ...t, replicas: [] }, b, spec.masters) - placementPenalty({ ...t, replicas: [] }, a, spec.masters) || b.ordinal - a.ordinal);
      const excess = byWorst.slice(0, t.replicas.length - spec.replicasPerMaster);
      t.replicas = t.replicas.filter((r) => !excess.includes(r));
      spares.push(...excess);
    }
  }

  const name = (id: string) => picture.podOfId.get(id)?.pod.name ?? id.slice(0, 8);
  const replicate: LifecycleOp[] = placeReplicas(targets.filter((t) => !failing(t.key)), spares, spec.replicasPerMaster, spec.masters).map((p) => {
    const o = picture.podOfId.get(p.replica) as ReachablePod;
    const why = o.me.role === 'master' ? 'an empty master' : lost.includes(o) ? `its master ${o.me.masterId ? name(o.me.masterId) : 'is unknown'} is gone or empty` : `${name(o.me.masterId ?? '')} has replicas to spare`;
    return { kind: 'replicate', at: { addr: o.addr, pod: o.pod.name }, masterId: p.master, message: `${o.pod.name} follows ${name(p.master)} (${why})` };
  });
  return { keepers, replicate };
}

/** CLUSTER FAILOVER on a staying replica of every leaving master that serves slots. */
export function planFailovers(picture: ClusterPicture): LifecycleOp[] {
  const ops: LifecycleOp[] = [];
  for (const l of picture.reachable) {
    const node = picture.nodes.get(l.me.id);
    if (!l.leaving || l.me.role !== 'master' || !node || node.slotCount === 0 || node.failing) continue;
    const heir = picture.reachable.find((o) => !o.leaving && o.me.role === 'replica' && o.me.masterId === l.me.id && !picture.nodes.get(o.me.id)?.failing && isJoined(picture, o));
    if (heir) ops.push({ kind: 'failover', at: { addr: heir.addr, pod: heir.pod.name }, message: `${heir.pod.name} takes over from ${l.pod.name}, which leaves` });
  }
  return ops;
}

/**
 * Leaving pods (ordinals the StatefulSet will remove) leave in two moves, each decided from what
 * the nodes say: first every staying member forgets the leaving node (so clients refreshing their
 * slot map from a staying node drop it while it still answers with the full map), then the
 * leaving node itself is reset (CLUSTER RESET SOFT: it forgets the cluster). Only once the
 * cluster is `drained` (no node outside the keepers serves a slot) and for a node that serves
 * nothing, has no open slot and that no staying node follows. A leaving node that is already
 * reset but still known somewhere is forgotten in any case (an operator restart in between).
 */
export function planDepartures(picture: ClusterPicture, keepers: readonly ReachablePod[], mayStart: boolean): LifecycleOp[] {
  const keeperIds = new Set(keepers.map((k) => k.me.id));
  const drained = mayStart && keepers.length > 0 && [...picture.slotMap.owners.keys()].every((id) => keeperIds.has(id));
  const ops: LifecycleOp[] = [];
  for (const l of picture.reachable) {
    if (!l.leaving) continue;
    const knownBy = picture.members.filter((m) => m !== l && !m.leaving && m.view.nodes.some((n) => n.id === l.me.id));
    const forget = (why: string): LifecycleOp => ({ kind: 'forget', id: l.me.id, at: knownBy.map((m) => ({ addr: m.addr, pod: m.pod.name })), message: `${l.pod.name} ${why}: forgetting it on ${knownBy.map((m) => m.pod.name).join(', ')}` });
    if (l.view.nodes.length <= 1) {
      if (knownBy.length > 0) ops.push(forget('has left the cluster'));
      continue;
    }
    if (!drained || l.me.slots.length > 0 || l.me.migrating.length + l.me.importing.length > 0) continue;
    if (picture.reachable.some((o) => !o.leaving && o.me.masterId === l.me.id)) continue;
    if (knownBy.length > 0) ops.push(forget('leaves'));
    else ops.push({ kind: 'reset', at: { addr: l.addr, pod: l.pod.name }, message: `${l.pod.name} leaves the cluster (CLUSTER RESET)` });
  }
  return ops;
}
