/**
 * The membership controller: logic pods → the ConfigMap N-membership, in its own work queue, so
 * that a pod change is published while the cluster's other controllers are busy (a Redis step can
 * take seconds). Keys come from the cluster, its ConfigMaps (an edited N-membership is put back)
 * and its logic pods.
 *
 * Latency: the first logic-pod event of a key since its last reconcile started is remembered; when
 * a reconcile writes a new N-membership the time since that event is observed in
 * imgroup_operator_membership_publish_latency_seconds. Events arriving while the key is reconciled
 * collapse into one more reconcile (the work queue's dirty set).
 */
import type { ClusterObjectsOptions } from '../reconcile/cluster-objects.js';
import { MembershipReconciler } from '../reconcile/membership-reconciler.js';
import type { ReconcileOutcome } from '../reconcile/outcome.js';
import { CONTROLLER_NAMES } from './controller-metrics.js';
import type { InformerSet } from './informer-set.js';
import { type KeyReconciler, type LoopSettings, ReconcileLoop } from './reconcile-loop.js';

export interface MembershipControllerOptions extends LoopSettings {
  informers: InformerSet;
  /** API clients and cached reads of the reconciler. */
  objects: ClusterObjectsOptions;
}

export class MembershipController implements KeyReconciler {
  readonly loop: ReconcileLoop;
  private readonly reconciler: MembershipReconciler;
  /** Per key: when the first logic pod event not yet seen by a reconcile arrived (performance.now()). */
  private readonly podEventAt = new Map<string, number>();

  constructor(private readonly opts: MembershipControllerOptions) {
    this.reconciler = new MembershipReconciler(opts.objects);
    this.loop = new ReconcileLoop(CONTROLLER_NAMES.membership, this, opts);
    opts.informers.watch((e) => {
      if (e.source === 'pod' && e.component === 'logic') {
        if (!this.podEventAt.has(e.key)) this.podEventAt.set(e.key, performance.now());
        this.loop.add(e.key);
      } else if (e.source === 'cluster' || (e.source === 'owned' && e.kind === 'ConfigMap')) {
        this.loop.add(e.key);
      }
    });
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileOutcome> {
    const key = `${namespace}/${name}`;
    // The reconcile reads the pod cache before its first I/O: it sees every event up to here.
    const eventAt = this.podEventAt.get(key);
    this.podEventAt.delete(key);
    const report = await this.reconciler.reconcile(namespace, name);
    if (eventAt !== undefined) {
      if (report.published) this.opts.metrics.membershipPublishLatency.observe((performance.now() - eventAt) / 1000);
      else if (report.outcome.kind === 'transient' && !this.podEventAt.has(key)) this.podEventAt.set(key, eventAt); // still to publish
    }
    return report.outcome;
  }
}
