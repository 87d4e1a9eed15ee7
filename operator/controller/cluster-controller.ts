/**
 * The cluster controller: an ImGroupCluster's objects and status (reconcile/cluster-reconciler.ts)
 * in its own work queue. Keys come from the cluster, the objects it owns, its logic pods (the
 * status counts the members) and every new observation of the Redis controller (status.redis and
 * N-redis's replicas follow it).
 */
import { ClusterReconciler, type ClusterReconcilerOptions } from '../reconcile/cluster-reconciler.js';
import type { ReconcileOutcome } from '../reconcile/outcome.js';
import { CONTROLLER_NAMES } from './controller-metrics.js';
import type { InformerSet } from './informer-set.js';
import { type KeyReconciler, type LoopSettings, ReconcileLoop } from './reconcile-loop.js';

export interface ClusterControllerOptions extends LoopSettings {
  informers: InformerSet;
  reconciler: ClusterReconcilerOptions;
}

export class ClusterController implements KeyReconciler {
  readonly loop: ReconcileLoop;
  private readonly reconciler: ClusterReconciler;

  constructor(opts: ClusterControllerOptions) {
    this.reconciler = new ClusterReconciler(opts.reconciler);
    this.loop = new ReconcileLoop(CONTROLLER_NAMES.cluster, this, opts);
    opts.informers.watch((e) => {
      if (e.source !== 'pod' || e.component === 'logic') this.loop.add(e.key);
    });
    opts.reconciler.redis?.watch((key) => this.loop.add(key));
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileOutcome> {
    return (await this.reconciler.reconcile(namespace, name)).outcome;
  }
}
