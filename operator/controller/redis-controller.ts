/**
 * The Redis controller: one cluster's Redis Cluster lifecycle (reconcile/redis-reconciler.ts) in
 * its own work queue with its own backoff, so that a step that takes seconds (a slot migration,
 * an unreachable pod) holds no other work. Keys come from the cluster, its N-redis StatefulSet and
 * its Redis pods (a cluster's update only when its generation changed: its status is written after
 * each step); what a step finds goes to the Redis observations the cluster controller follows.
 */
import type { ReconcileOutcome } from '../reconcile/outcome.js';
import { RedisReconciler, type RedisReconcilerOptions } from '../reconcile/redis-reconciler.js';
import { CONTROLLER_NAMES } from './controller-metrics.js';
import type { InformerSet } from './informer-set.js';
import { type KeyReconciler, type LoopSettings, ReconcileLoop } from './reconcile-loop.js';

export interface RedisControllerOptions extends LoopSettings {
  informers: InformerSet;
  reconciler: RedisReconcilerOptions;
}

export class RedisController implements KeyReconciler {
  readonly loop: ReconcileLoop;
  private readonly reconciler: RedisReconciler;
  /** The last generation seen of each cluster. */
  private readonly generations = new Map<string, number>();

  constructor(opts: RedisControllerOptions) {
    this.reconciler = new RedisReconciler(opts.reconciler);
    this.loop = new ReconcileLoop(CONTROLLER_NAMES.redis, this, opts);
    opts.informers.watch((e) => {
      if (e.source === 'cluster') {
        // Only a new spec (generation) asks for a step, not a status write (as controller-runtime's
        // GenerationChangedPredicate): the cluster controller writes the status after every step.
        if (e.why === 'update' && e.generation !== undefined && this.generations.get(e.key) === e.generation) return;
        if (e.why === 'delete') this.generations.delete(e.key);
        else if (e.generation !== undefined) this.generations.set(e.key, e.generation);
        this.loop.add(e.key);
        return;
      }
      const redisOwned = e.source === 'owned' && e.kind === 'StatefulSet' && e.component === 'redis';
      const redisPod = e.source === 'pod' && e.component === 'redis';
      if (redisOwned || redisPod) this.loop.add(e.key);
    });
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileOutcome> {
    return (await this.reconciler.reconcile(namespace, name)).outcome;
  }
}
