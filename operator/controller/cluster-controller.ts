/**
 * The cluster controller: an ImGroupCluster's objects and status (reconcile/cluster-reconciler.ts)
 * in its own work queue. Keys come from the cluster, the objects it owns, its logic pods (the
 * status counts the members) and every new observation of the Redis controller (status.redis and
 * N-redis's replicas follow it).
 */
import type { Logger } from '../../runtime/ops/logger.js';
import type { BackoffBounds } from '../../runtime/retry/backoff.js';
import { ClusterReconciler, type ClusterReconcilerOptions } from '../reconcile/cluster-reconciler.js';
import type { ReconcileOutcome } from '../reconcile/outcome.js';
import { CONTROLLER_NAMES, type ControllerMetrics } from './controller-metrics.js';
import type { InformerSet } from './informer-set.js';
import { type KeyReconciler, ReconcileLoop } from './reconcile-loop.js';

export interface ClusterControllerOptions {
  informers: InformerSet;
  reconciler: ClusterReconcilerOptions;
  metrics: ControllerMetrics;
  log: Logger;
  /** Concurrent reconciles (different keys). */
  workers: number;
  /** Backoff of transient errors. */
  backoff: BackoffBounds;
  /** Work queue bound. Default 100000 keys. */
  maxQueueDepth?: number;
}

export class ClusterController implements KeyReconciler {
  readonly loop: ReconcileLoop;
  private readonly reconciler: ClusterReconciler;

  constructor(opts: ClusterControllerOptions) {
    this.reconciler = new ClusterReconciler(opts.reconciler);
    this.loop = new ReconcileLoop({
      name: CONTROLLER_NAMES.cluster,
      reconciler: this,
      metrics: opts.metrics,
      log: opts.log,
      workers: opts.workers,
      backoff: opts.backoff,
      ...(opts.maxQueueDepth !== undefined ? { maxQueueDepth: opts.maxQueueDepth } : {}),
    });
    opts.informers.watch((e) => {
      if (e.source !== 'pod' || e.component === 'logic') this.loop.add(e.key);
    });
    opts.reconciler.redis?.watch((key) => this.loop.add(key));
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileOutcome> {
    return (await this.reconciler.reconcile(namespace, name)).outcome;
  }
}
