/**
 * The operator's metrics, on an injected Registry: controller-runtime's reconcile and workqueue
 * names (label `controller`, and `name` of the work queue, = one of CONTROLLER_NAMES), the
 * membership publish latency, and the conditions of every ImGroupCluster (so that alerts can see
 * a cluster Degraded).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CONDITION_TYPES, type Condition } from '../api/v1alpha1.js';

/** The operator's controllers, each with its own work queue: their `controller` / `name` label. */
export const CONTROLLER_NAMES = {
  /** An ImGroupCluster's objects and status. */
  cluster: 'imgroupcluster',
  /** Its logic pods → the N-membership ConfigMap. */
  membership: 'imgroupcluster-membership',
  /** Its Redis Cluster's lifecycle. */
  redis: 'imgroupcluster-redis',
} as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[keyof typeof CONTROLLER_NAMES];

/** The cluster controller's name (the one controller of earlier versions). */
export const CONTROLLER_NAME = CONTROLLER_NAMES.cluster;

export interface ControllerMetrics {
  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileErrors: Counter<'controller'>;
  reconcileTime: Histogram<'controller'>;
  workqueueDepth: Gauge<'name'>;
  workqueueAdds: Counter<'name'>;
  workqueueRetries: Counter<'name'>;
  membershipPublishLatency: Histogram<string>;
  isLeader: Gauge<string>;
  informerRestarts: Counter<'resource' | 'reason'>;
  clusterCondition: Gauge<'cluster' | 'condition'>;
}

export function createControllerMetrics(registry: Registry): ControllerMetrics {
  return {
    reconcileTotal: new Counter({ name: 'controller_runtime_reconcile_total', help: 'Reconciles by result (success, requeue_after, requeue, error, terminal).', labelNames: ['controller', 'result'], registers: [registry] }),
    reconcileErrors: new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Reconciles that ended in an error (transient or terminal).', labelNames: ['controller'], registers: [registry] }),
    reconcileTime: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Duration of one reconcile.',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    workqueueDepth: new Gauge({ name: 'workqueue_depth', help: 'Keys waiting in the work queue.', labelNames: ['name'], registers: [registry] }),
    workqueueAdds: new Counter({ name: 'workqueue_adds_total', help: 'Keys added to the work queue.', labelNames: ['name'], registers: [registry] }),
    workqueueRetries: new Counter({ name: 'workqueue_retries_total', help: 'Rate-limited re-adds (after a transient error, or a Redis step that could not reach its cluster).', labelNames: ['name'], registers: [registry] }),
    membershipPublishLatency: new Histogram({
      name: 'imgroup_operator_membership_publish_latency_seconds',
      help: 'From a logic pod change observed to the membership ConfigMap written.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5],
      registers: [registry],
    }),
    isLeader: new Gauge({ name: 'imgroup_operator_leader', help: '1 while this replica holds the leader Lease.', registers: [registry] }),
    informerRestarts: new Counter({
      name: 'imgroup_operator_informer_restarts_total',
      help: 'Informer re-lists by reason: resync (periodic), stalled (watchdog: no event for the stall bound), error (list or watch failed).',
      labelNames: ['resource', 'reason'],
      registers: [registry],
    }),
    clusterCondition: new Gauge({
      name: 'imgroup_operator_cluster_condition',
      help: 'Conditions of each ImGroupCluster as the leader last computed them: 1 while True, 0 while False or Unknown; cluster = <namespace>/<name>, condition = Ready, Progressing, Degraded, MembershipPublished, ClusterFormed or SlotsAssigned.',
      labelNames: ['cluster', 'condition'],
      registers: [registry],
    }),
  };
}

/**
 * Set the condition gauges of one cluster (`<namespace>/<name>`) from the status the reconcile
 * computed. Only the operator's own condition types are exported (a closed label set); a type the
 * status no longer has is dropped.
 */
export function recordClusterConditions(m: ControllerMetrics, cluster: string, conditions: readonly Condition[]): void {
  for (const type of CONDITION_TYPES) {
    const c = conditions.find((x) => x.type === type);
    if (c) m.clusterCondition.set({ cluster, condition: type }, c.status === 'True' ? 1 : 0);
    else m.clusterCondition.remove({ cluster, condition: type });
  }
}

/** Drop the condition gauges of an ImGroupCluster that was deleted. */
export function forgetClusterConditions(m: ControllerMetrics, cluster: string): void {
  for (const type of CONDITION_TYPES) m.clusterCondition.remove({ cluster, condition: type });
}
