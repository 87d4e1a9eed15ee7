/**
 * The result of one lifecycle step, made from the picture the step started from, its plan and
 * what its actions did. Pure. The state is the worst grade among the plan's problems and the
 * failed actions:
 *
 *   Failed        a problem needs a human (refusal, slots nobody can serve, unknown slot owner);
 *   Bootstrapping no slot exists yet (waiting for pods, or forming the cluster);
 *   Degraded      a fault the cluster or operator is getting over (pod down, failover under way,
 *                 nodes disagreeing, an action failed);
 *   Migrating     the operator is changing the cluster (moving slots, finishing an interrupted
 *                 move, joining, attaching, failing over, draining a scale-in);
 *   Healthy       nothing to do.
 */
import { nameOf, type ClusterPicture } from './cluster-picture.js';
import type { LifecycleOp } from './lifecycle-ops.js';
import { worstProblem, type Problem } from './lifecycle-problems.js';
import type { LifecycleAction, RedisLifecycleResult, RedisLifecycleState, RedisMigrationProgress, RedisShard } from './lifecycle-types.js';
import type { StepPlan } from './lifecycle-plan.js';
import { SLOT_COUNT, countSlots } from '../../runtime/redis-cluster/slot-ranges.js';

export interface ExecutedStep {
  actions: LifecycleAction[];
  migration: RedisMigrationProgress | null;
  /** Slots given out by assign-slots actions that succeeded. */
  slotsAssignedNow: number;
}

export interface RequeueTiming {
  failedMs: number;
  degradedMs: number;
  bootstrappingMs: number;
  /** After a step that moved slots or finished a move: come back at once, nearly. */
  movingMs: number;
  migratingMs: number;
}

export const DEFAULT_REQUEUE: RequeueTiming = { failedMs: 30_000, degradedMs: 5_000, bootstrappingMs: 2_000, movingMs: 100, migratingMs: 1_000 };

export function lifecycleResult(picture: ClusterPicture, plan: StepPlan, executed: ExecutedStep, timing: RequeueTiming = DEFAULT_REQUEUE): RedisLifecycleResult {
  const problems: Problem[] = [...plan.problems];
  for (const a of executed.actions) if (!a.ok) problems.push({ level: 'degraded', reason: 'ActionFailed', message: a.message });
  const acted = executed.actions[0];
  if (acted && problems.length === 0) problems.push({ level: 'progress', reason: 'Repairing', message: acted.message });
  const worst = worstProblem(problems);
  const state: RedisLifecycleState =
    worst?.level === 'failed' ? 'Failed' : !picture.anySlots ? 'Bootstrapping' : worst?.level === 'degraded' ? 'Degraded' : worst ? 'Migrating' : 'Healthy';

  const slotsAssigned = Math.min(SLOT_COUNT, picture.slotMap.covered + executed.slotsAssignedNow);
  const moving = plan.ops.some((o: LifecycleOp) => o.kind === 'migrate' || o.kind === 'fix-open-slot' || o.kind === 'bootstrap');
  const requeueAfterMs =
    state === 'Healthy' ? null
    : state === 'Failed' ? timing.failedMs
    : state === 'Degraded' ? timing.degradedMs
    : state === 'Bootstrapping' ? timing.bootstrappingMs
    : moving ? timing.movingMs
    : timing.migratingMs;

  return {
    state,
    slotsAssigned,
    shards: shardsOf(picture, executed.migration),
    migration: executed.migration,
    statefulSetReplicas: plan.statefulSetReplicas,
    actions: executed.actions,
    requeueAfterMs,
    conditions: {
      clusterFormed: picture.anySlots && picture.agreed && worst?.level !== 'failed',
      slotsAssigned: slotsAssigned === SLOT_COUNT,
      degraded: state === 'Degraded' || state === 'Failed',
      reason: worst?.reason ?? 'ClusterHealthy',
      message: worst?.message ?? `${SLOT_COUNT} slots served by ${picture.slotMap.owners.size} masters`,
    },
    problems: problems.map((p) => p.message),
    unreachable: picture.observations.filter((o) => o.error !== null).map((o) => ({ pod: o.pod.name, error: o.error as string })),
  };
}

/** Masters serving slots, by pod ordinal, with their replicas; counts adjusted by this step's move. */
function shardsOf(picture: ClusterPicture, migration: RedisMigrationProgress | null): RedisShard[] {
  const ordinal = (id: string) => picture.podOfId.get(id)?.pod.ordinal ?? Number.MAX_SAFE_INTEGER;
  const shards = [...picture.slotMap.owners.entries()]
    .sort((a, b) => ordinal(a[0]) - ordinal(b[0]))
    .map(([id, ranges]) => ({
      master: nameOf(picture, id),
      replicas: [...picture.nodes.values()]
        .filter((n) => n.record.masterId === id && (n.pod?.me.role ?? n.record.role) === 'replica')
        .map((n) => nameOf(picture, n.id))
        .sort(),
      slots: countSlots(ranges),
    }));
  if (migration && migration.slotsMoved > 0) {
    const from = shards.find((s) => s.master === migration.from);
    if (from) from.slots -= migration.slotsMoved;
    const to = shards.find((s) => s.master === migration.to);
    if (to) to.slots += migration.slotsMoved;
    else shards.push({ master: migration.to, replicas: [], slots: migration.slotsMoved });
  }
  return shards.filter((s) => s.slots > 0);
}
