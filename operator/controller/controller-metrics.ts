/**
 * The operator's metrics, on an injected Registry: controller-runtime's reconcile and workqueue
 * names (label `controller` = imgroupcluster) and the membership publish latency.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export const CONTROLLER_NAME = 'imgroupcluster';

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
}

export function createControllerMetrics(registry: Registry): ControllerMetrics {
  return {
    reconcileTotal: new Counter({ name: 'controller_runtime_reconcile_total', help: 'Reconciles by result (success, requeue_after, error, terminal).', labelNames: ['controller', 'result'], registers: [registry] }),
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
    workqueueRetries: new Counter({ name: 'workqueue_retries_total', help: 'Rate-limited re-adds after a transient error.', labelNames: ['name'], registers: [registry] }),
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
  };
}
