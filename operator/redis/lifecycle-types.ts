/**
 * The contract between the operator's reconcile loop and the Redis Cluster lifecycle engine
 * (redis-lifecycle.ts): what the reconciler knows about the `N-redis` pods and the spec, and what
 * one lifecycle step reports back for status, Events, metrics and the StatefulSet's replica count.
 * Nothing here knows Kubernetes: a pod is a name, an ordinal, an address and a readiness bit.
 */

/** One pod of the Redis StatefulSet as the API shows it. */
export interface RedisPodView {
  /** Pod name (`N-redis-<ordinal>`), used in status and messages. */
  name: string;
  /** StatefulSet ordinal: pods with ordinal ≥ masters × (1 + replicasPerMaster) are leaving. */
  ordinal: number;
  /**
   * The pod's stable DNS name, which its TLS certificate names: with Redis TLS the engine reaches
   * the pod at its IP and checks its certificate against this name. Absent: against the IP.
   */
  host?: string;
  /** `status.podIP`; null while the pod has none. */
  ip: string | null;
  /** The pod's Ready condition. */
  ready: boolean;
  /** Client port of this pod when it is not the input's `port` (local test pods). */
  port?: number;
  /**
   * What a single failure takes down together with this pod: its Kubernetes node name (or zone)
   * when known. Null/absent: unknown (the placement then falls back to the ordinal rule).
   */
  failureDomain?: string | null;
}

export interface RedisLifecycleInput {
  /** Every pod of N-redis the API shows, including leaving and extra ones. */
  pods: readonly RedisPodView[];
  /** spec.redis.masters (at least the engine's minMasters, 3 by default). */
  masters: number;
  /** spec.redis.replicasPerMaster. */
  replicasPerMaster: number;
  /** Client port of every pod (6379 in pods) unless the pod says otherwise. */
  port: number;
  /** The replica count the StatefulSet asks for now. */
  statefulSetReplicas: number;
}

export type RedisLifecycleState = 'Bootstrapping' | 'Healthy' | 'Migrating' | 'Degraded' | 'Failed';

/**
 * Kinds of actions a step takes. `assign-slots` gives slots that no node serves to a master; it
 * only happens when a bootstrap was interrupted between assigning the first and the last slots.
 */
export const LIFECYCLE_ACTION_KINDS = ['bootstrap', 'meet', 'replicate', 'fix-open-slot', 'forget', 'migrate', 'failover', 'reset', 'assign-slots'] as const;
export type LifecycleActionKind = (typeof LIFECYCLE_ACTION_KINDS)[number];

/** Kinds counted as repairs (imgroup_operator_redis_repairs_total{kind}). */
export const REPAIR_KINDS = ['meet', 'replicate', 'fix-open-slot', 'forget', 'failover', 'reset', 'assign-slots'] as const satisfies readonly LifecycleActionKind[];
export type RepairKind = (typeof REPAIR_KINDS)[number];

export interface LifecycleAction {
  kind: LifecycleActionKind;
  /** For an Event: what was done, naming pods. */
  message: string;
  /** False when the action failed (the message then says why). */
  ok: boolean;
}

export interface RedisShard {
  /** Pod name of the master (or `node <id prefix>` for a node that is no pod). */
  master: string;
  replicas: string[];
  slots: number;
}

export interface RedisMigrationProgress {
  /** Pod names. */
  from: string;
  to: string;
  /** Slots this step moved from `from` to `to`. */
  slotsMoved: number;
  /** Slots this step meant to move between them. */
  slotsPlanned: number;
  /** Slots that still have to move (anywhere) after this step for the spread to be even. */
  slotsRemaining: number;
}

export interface RedisLifecycleConditions {
  /** Every reachable node belongs to one cluster that serves slots. */
  clusterFormed: boolean;
  /** All 16384 slots are served. */
  slotsAssigned: boolean;
  degraded: boolean;
  /** CamelCase reason of the state. */
  reason: string;
  message: string;
}

export interface RedisLifecycleResult {
  state: RedisLifecycleState;
  /** Slots served by some master, of 16384 (after this step's actions, as far as known). */
  slotsAssigned: number;
  /** Masters that serve slots, by pod ordinal. */
  shards: RedisShard[];
  /** The slot move this step made, or null. */
  migration: RedisMigrationProgress | null;
  /** The replica count the operator may apply now (a scale-in waits until the leaving pods are out). */
  statefulSetReplicas: number;
  actions: LifecycleAction[];
  /** Come back after this long (migration in progress, waiting for pods …); null: nothing pending. */
  requeueAfterMs: number | null;
  conditions: RedisLifecycleConditions;
  /** Everything found wrong, one line each naming the pod or node (bounded). */
  problems: string[];
  /** Pods that could not be asked, with the reason. */
  unreachable: Array<{ pod: string; error: string }>;
}
