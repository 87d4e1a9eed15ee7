/**
 * One lifecycle step, decided from a ClusterPicture alone (nothing remembered between steps, so
 * an operator restarted in the middle of anything carries on from what the nodes say). In
 * priority order:
 *
 *   1. No pod serves or knows a slot: bootstrap once every pod the spec asks for is Ready and
 *      answers — unless a pod holds keys (refused: Failed/NotEmpty).
 *   2. Membership: MEET pods that changed address or are new; FORGET nodes that are gone.
 *   3. Open slots left by an interrupted migration: finished (or rolled back); nothing else
 *      moves in a step that has open slots.
 *   4. Roles: re-attach replicas that lost their master, attach spare nodes; when stable, fail
 *      over leaving masters and reset drained leaving nodes.
 *   5. Slots, when stable: serve uncovered slots, else one bounded move towards the even spread.
 *
 * "Stable": every pod the spec asks for answers and is a joined member, the staying members agree
 * on the slot map, no slot is open, every slot owner is a pod and none is failing.
 */
import { planBootstrap } from './bootstrap-plan.js';
import type { ClusterNodeRecord } from '../../runtime/redis-cluster/cluster-nodes.js';
import { isFresh, isJoined, nameOf, sameAddr, type ClusterPicture } from './cluster-picture.js';
import type { LifecycleOp } from './lifecycle-ops.js';
import type { Problem } from './lifecycle-problems.js';
import type { RedisLifecycleInput } from './lifecycle-types.js';
import { planForgets, planMeets } from './membership-repair.js';
import { planOpenSlotFixes } from './open-slot-repair.js';
import type { ReachablePod } from './pod-observation.js';
import type { Addr } from '../../runtime/redis-cluster/redis-addr.js';
import { planDepartures, planFailovers, planRoles } from './role-repair.js';
import { planSlots } from './slot-plan.js';

export interface PlanLimits {
  slotsPerStep: number;
  maxMeetsPerStep: number;
  maxOpenSlotFixesPerStep: number;
}

export interface StepPlan {
  ops: LifecycleOp[];
  problems: Problem[];
  /** The replica count the StatefulSet may have now. */
  statefulSetReplicas: number;
  /** Masters that keep slots (empty until the cluster exists). */
  keepers: ReachablePod[];
}

const MAX_PROBLEMS = 32;
/** A replica whose link is down for less than this is syncing (progress), after it degraded. */
const REPLICA_SYNC_GRACE_MS = 60_000;

export function planStep(picture: ClusterPicture, input: RedisLifecycleInput, limits: PlanLimits): StepPlan {
  const problems: Problem[] = [];
  const say = (p: Problem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const desired = picture.desiredPods;
  const scalingIn = input.statefulSetReplicas > desired;
  // A scale-out's new pods (ordinals beyond every node the cluster has placed: serving slots or
  // following a master) are awaited, not lost: while they come up, or when one that was already
  // met is slow to answer, the cluster is progressing, not degraded.
  const placed = [...picture.nodes.values()].filter((n) => n.slotCount > 0 || n.record.slots.length > 0 || n.record.masterId !== null || n.record.role === 'replica');
  const joining = (ordinal: number, addr: Addr | null) => picture.anySlots && ordinal >= placed.length && !placed.some((n) => addr !== null && sameAddr(n.record, addr));
  const absent = (ordinal: number, addr: Addr | null, reason: 'PodUnreachable' | 'PodMissing', message: string): Problem =>
    !picture.anySlots || joining(ordinal, addr)
      ? { level: 'progress', reason: picture.anySlots ? 'WaitingForNewPods' : 'WaitingForPods', message }
      : { level: 'degraded', reason, message };
  for (const o of picture.observations) {
    if (o.error === null) continue;
    if (!o.leaving) say(absent(o.pod.ordinal, o.addr, 'PodUnreachable', `${o.pod.name}: ${o.error}`));
    else if (scalingIn) say({ level: 'progress', reason: 'WaitingForLeavingPod', message: `${o.pod.name} leaves but does not answer (${o.error}); the scale-in waits for it` });
  }
  for (let i = 0; i < desired; i++) {
    if (!picture.observations.some((o) => o.pod.ordinal === i)) say(absent(i, null, 'PodMissing', `no pod with ordinal ${i} yet`));
  }

  if (!picture.anySlots) return { ...planFirstBootstrap(picture, input, say), problems };

  const ops: LifecycleOp[] = [...planMeets(picture, limits.maxMeetsPerStep), ...planForgets(picture)];
  const open = planOpenSlotFixes(picture, limits.maxOpenSlotFixesPerStep);
  open.problems.forEach(say);
  ops.push(...open.ops);
  if (picture.openSlots.length > 0) {
    describeCluster(picture, input, ops, say);
    if (open.ops.length > 0) say({ level: 'progress', reason: 'FinishingMigration', message: `${picture.openSlots.length} slot(s) left open by an interrupted migration` });
    return { ops, problems, statefulSetReplicas: replicasNow(picture, input, say), keepers: [] };
  }

  const allJoined = Array.from({ length: desired }, (_, i) => picture.reachable.find((o) => o.pod.ordinal === i)).every((o) => o !== undefined && isJoined(picture, o));
  const settled = allJoined && picture.agreed;
  const roles = planRoles(picture, input, settled);
  ops.push(...roles.replicate);
  const ownersArePods = [...picture.slotMap.owners.keys()].every((id) => picture.podOfId.has(id) && !picture.nodes.get(id)?.failing);
  const stable = settled && ownersArePods && picture.slotMap.conflicting.length === 0;
  const failovers = stable ? planFailovers(picture) : [];
  ops.push(...failovers);
  ops.push(...planDepartures(picture, roles.keepers, stable && failovers.length === 0 && roles.replicate.length === 0));
  // Keys only move while every voter serves requests: a node whose cluster state is still fail
  // (e.g. one that just joined) refuses the keys MIGRATE hands it.
  const serving = picture.voters.every((v) => v.info.state === 'ok');
  if (stable && failovers.length === 0) ops.push(...planSlots(picture, roles.keepers, limits.slotsPerStep, serving));
  describeCluster(picture, input, ops, say);
  if (roles.keepers.length < input.masters && settled) {
    say({ level: 'degraded', reason: 'NotEnoughMasters', message: `only ${roles.keepers.length} of ${input.masters} masters can serve slots` });
  }
  if (ops.length > 0) say({ level: 'progress', reason: progressReason(ops), message: (ops[0] as LifecycleOp).message });
  return { ops, problems, statefulSetReplicas: replicasNow(picture, input, say), keepers: roles.keepers };
}

function planFirstBootstrap(picture: ClusterPicture, input: RedisLifecycleInput, say: (p: Problem) => void): Omit<StepPlan, 'problems'> {
  const none = { ops: [], statefulSetReplicas: picture.desiredPods, keepers: [] };
  const withKeys = picture.reachable.find((o) => o.keys > 0);
  if (withKeys) {
    say({ level: 'failed', reason: 'NotEmpty', message: `refusing to bootstrap: ${withKeys.pod.name} holds ${withKeys.keys} keys although no slot is assigned anywhere; bootstrapping could lose them (empty it with FLUSHALL if that is really intended)` });
    return none;
  }
  const pods = picture.reachable.filter((o) => !o.leaving);
  const waiting = picture.observations.filter((o) => o.error !== null || !o.pod.ready).map((o) => o.pod.name);
  if (pods.length < picture.desiredPods || waiting.length > 0) {
    say({ level: 'progress', reason: 'WaitingForPods', message: `bootstrap waits for every pod to be Ready and answer${waiting.length > 0 ? ` (${waiting.slice(0, 5).join(', ')})` : ''}` });
    return none;
  }
  const podIds = new Set(picture.reachable.map((o) => o.me.id));
  const podAddrs = picture.reachable.map((o) => o.addr);
  for (const o of picture.reachable) {
    // A node still shaking hands is known by address only: fine if that is a pod's address.
    const stranger = o.view.nodes.find((n) => !n.flags.has('myself') && !podIds.has(n.id) && !(n.flags.has('handshake') && podAddrs.some((a) => a.host === n.host && a.port === n.port)));
    if (!stranger) continue;
    say({ level: 'failed', reason: 'ForeignNodes', message: `refusing to bootstrap: ${o.pod.name} knows node ${stranger.id.slice(0, 8)} (${stranger.host}:${stranger.port}), which is no pod of this cluster` });
    return none;
  }
  let plan;
  try {
    plan = planBootstrap(pods, input.masters, input.replicasPerMaster);
  } catch (err) {
    say({ level: 'failed', reason: 'InvalidPods', message: `cannot plan the bootstrap: ${(err as Error).message}` });
    return none;
  }
  return { ...none, ops: [{ kind: 'bootstrap', plan, message: `bootstrapping ${input.masters} masters × ${1 + input.replicasPerMaster} on ${pods.map((o) => o.pod.name).join(', ')}` }] };
}

/** Faults of the existing cluster that the ops of this step do not cover. */
function describeCluster(picture: ClusterPicture, input: RedisLifecycleInput, ops: readonly LifecycleOp[], say: (p: Problem) => void): void {
  const everyPodAnswered = picture.observations.every((o) => o.error === null);
  for (const [id, node] of picture.nodes) {
    const name = picture.podOfId.has(id) ? nameOf(picture, id) : `${nameOf(picture, id)} (node ${id.slice(0, 8)} at ${node.record.host}:${node.record.port})`;
    if (node.slotCount > 0 && !picture.podOfId.has(id) && everyPodAnswered) {
      say({ level: 'failed', reason: 'UnknownSlotOwner', message: `${name} serves ${node.slotCount} slots but is no pod of this cluster; its slots are not touched` });
    }
    if (!node.failing) continue;
    if (node.slotCount > 0) {
      // Its replicas can take over; one that already promoted itself (it says it serves the slots,
      // the others have not heard yet) has taken over: a failover under way, not slots lost.
      const heirs = [...picture.nodes.values()].filter((n) => n.record.masterId === id && !n.failing && (n.pod?.me.role ?? n.record.role) === 'replica');
      const tookOver = picture.reachable.some((o) => o.me.id !== id && o.me.role === 'master' && o.me.slots.some((r) => node.slots.some((s) => r.start <= s.end && s.start <= r.end)));
      if (heirs.length > 0 || tookOver) say({ level: 'degraded', reason: 'MasterDown', message: `master ${name} is down; its replica takes over` });
      else say({ level: 'failed', reason: 'SlotsDown', message: `master ${name} is down and has no replica to take over its ${node.slotCount} slots` });
    } else if (!ops.some((o) => o.kind === 'forget' && o.id === id)) {
      say({ level: 'degraded', reason: 'NodeDown', message: `${name} is down` });
    }
  }
  for (const o of picture.reachable) {
    if (o.leaving || o.me.role !== 'replica' || o.replication.linkUp !== false) continue;
    const down = o.replication.linkDownSeconds;
    const fresh = o.replication.syncing || down === null || down < 0 || down * 1000 < REPLICA_SYNC_GRACE_MS;
    if (fresh) say({ level: 'progress', reason: 'ReplicaSyncing', message: `${o.pod.name} is (re)connecting to its master and copying its data` });
    else say({ level: 'degraded', reason: 'ReplicaLinkDown', message: `${o.pod.name} has had no link to its master for ${down} s; it could not take over` });
  }
  for (const m of picture.voters) {
    if (m.info.state === 'ok' || !isJoined(picture, m)) continue;
    // A master that serves nothing yet (a scale-out's new node) reports fail until gossip brings it
    // the slot map: it serves no request, so that is progress, not a fault.
    const empty = m.me.role === 'master' && (picture.nodes.get(m.me.id)?.slotCount ?? 0) === 0;
    if (empty) say({ level: 'progress', reason: 'Joining', message: `${m.pod.name} (no slots yet) reports cluster_state:${m.info.state}` });
    else say({ level: 'degraded', reason: 'ClusterStateFail', message: `${m.pod.name} reports cluster_state:${m.info.state}` });
  }
  if (!picture.agreed) {
    // New empty masters learn the slot map by gossip a moment after they joined: progress. Nodes
    // that serve slots (or follow a master) and still disagree are a fault.
    const newcomers = picture.dissenters.every((d) => d.me.role === 'master' && (picture.nodes.get(d.me.id)?.slotCount ?? 0) === 0);
    const names = picture.dissenters.map((d) => d.pod.name).join(', ');
    if (newcomers) say({ level: 'progress', reason: 'Joining', message: `${names} ha${picture.dissenters.length === 1 ? 's' : 've'} not learned the slot map yet` });
    else say({ level: 'degraded', reason: 'SlotMapDisagreement', message: `the nodes do not agree on the slot map yet (${names} differ)` });
  }
  if (picture.slotMap.uncovered.length > 0) say({ level: 'degraded', reason: 'SlotsUncovered', message: `${16384 - picture.slotMap.covered} slots are served by nobody` });
  for (const o of picture.reachable) {
    if (o.leaving || isJoined(picture, o)) continue;
    const memberIds = new Set(picture.members.map((m) => m.me.id));
    // Joining: it knows nobody yet, or members, or only pods of this cluster (new pods that met
    // each other through gossip), or this step meets it. Foreign: it knows nodes that are no pod here.
    const joining = isFresh(o) || picture.members.includes(o) || o.view.nodes.some((n) => memberIds.has(n.id)) || knowsOnlyOurPods(picture, o) || ops.some((op) => op.kind === 'meet' && op.target.host === o.addr.host && op.target.port === o.addr.port);
    if (joining) say({ level: 'progress', reason: 'Joining', message: `${o.pod.name} is joining the cluster` });
    else say({ level: 'degraded', reason: 'ForeignPod', message: `${o.pod.name} belongs to another cluster (it knows nodes unknown here); it is not merged in` });
  }
  for (const [id, node] of picture.nodes) {
    if (input.replicasPerMaster === 0 || node.slotCount === 0 || node.failing) continue;
    const replicas = [...picture.nodes.values()].filter((n) => n.record.masterId === id && !n.failing).length;
    if (replicas === 0 && !ops.some((o) => o.kind === 'replicate' && o.masterId === id)) {
      say({ level: 'degraded', reason: 'MissingReplicas', message: `master ${nameOf(picture, id)} has no replica` });
    }
  }
}

/**
 * Every node `o` knows is a pod of this cluster: one that answered (by node id), or one at the
 * address of a pod of the StatefulSet that serves nothing in `o`'s view. The second covers the
 * scale-out's races: a new pod that does not answer this step (too slow, restarting) but that the
 * others already met, and a handshake in flight (Redis lists it under a random node id at the
 * peer's address).
 */
function knowsOnlyOurPods(picture: ClusterPicture, o: ReachablePod): boolean {
  const podAddrs = picture.observations.flatMap((x) => (x.addr ? [x.addr] : []));
  const empty = (n: ClusterNodeRecord) => n.slots.length === 0 && n.migrating.length === 0 && n.importing.length === 0;
  return o.view.nodes.every((n) => n.id === o.me.id || picture.podOfId.has(n.id) || (empty(n) && podAddrs.some((a) => sameAddr(a, n))));
}

/** The StatefulSet's replicas now: lowered only once every leaving pod is reset and forgotten. */
function replicasNow(picture: ClusterPicture, input: RedisLifecycleInput, say: (p: Problem) => void): number {
  const desired = picture.desiredPods;
  if (input.statefulSetReplicas <= desired) return desired;
  const leaving = picture.observations.filter((o) => o.leaving);
  const pending = leaving.filter((o) => {
    const r = picture.reachable.find((x) => x === o);
    // A leaving pod that does not answer is out only if no staying node knows a node at its address.
    if (!r) return o.addr === null || picture.voters.some((m) => m.view.nodes.some((n) => n.host === o.addr?.host && n.port === o.addr.port));
    return r.view.nodes.length > 1 || r.me.slots.length > 0 || picture.voters.some((m) => m !== r && m.view.nodes.some((n) => n.id === r.me.id));
  });
  if (pending.length === 0) return desired;
  say({ level: 'progress', reason: 'ScaleInPending', message: `${pending.length} leaving pod(s) still in the cluster: ${pending.slice(0, 5).map((o) => o.pod.name).join(', ')}` });
  return input.statefulSetReplicas;
}

function progressReason(ops: readonly LifecycleOp[]): string {
  const kinds = new Set(ops.map((o) => o.kind));
  if (kinds.has('migrate')) return 'MigratingSlots';
  if (kinds.has('failover')) return 'FailingOver';
  if (kinds.has('reset') || ops.some((o) => o.kind === 'forget' && / leaves: /.test(o.message))) return 'ScalingIn';
  if (kinds.has('assign-slots')) return 'AssigningSlots';
  if (kinds.has('replicate')) return 'AttachingReplicas';
  if (kinds.has('meet')) return 'Joining';
  if (kinds.has('forget')) return 'ForgettingNodes';
  return 'Repairing';
}
