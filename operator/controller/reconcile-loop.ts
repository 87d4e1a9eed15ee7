/**
 * One controller's work loop (controller-runtime's controller): a rate-limited work queue of cluster
 * keys `<namespace>/<name>` (work-queue.ts: one worker per key, level-triggered) and `workers`
 * workers that reconcile keys and act on the outcome: done → forget; requeueAfter → forget, add
 * after; requeue → rate-limited re-add; transient → rate-limited re-add (an error); terminal →
 * forget (the next change of the object brings it back). Reconcile and work queue metrics carry
 * the controller's name.
 */
import type { Logger } from '../../runtime/ops/logger.js';
import type { BackoffBounds } from '../../runtime/retry/backoff.js';
import { outcomeLabel, type ReconcileOutcome } from '../reconcile/outcome.js';
import type { ControllerMetrics, ControllerName } from './controller-metrics.js';
import { WorkQueue } from './work-queue.js';

/** What a controller's loop calls for each key. Never throws: every failure is an outcome. */
export interface KeyReconciler {
  reconcile(namespace: string, name: string): Promise<ReconcileOutcome>;
}

/** How a controller's loop runs (each controller's options extend these). */
export interface LoopSettings {
  metrics: ControllerMetrics;
  log: Logger;
  /** Concurrent reconciles (of different keys). */
  workers: number;
  /** Rate-limited re-adds: the per-key backoff's bounds. */
  backoff: BackoffBounds;
  /** Work queue bound. Default 100000 keys. */
  maxQueueDepth?: number;
}

export class ReconcileLoop {
  private readonly queue: WorkQueue;
  private readonly workers: Promise<void>[] = [];
  private running = false;

  constructor(
    private readonly name: ControllerName,
    private readonly reconciler: KeyReconciler,
    private readonly opts: LoopSettings,
  ) {
    const m = opts.metrics;
    this.queue = new WorkQueue({
      minDelayMs: opts.backoff.minMs,
      maxDelayMs: opts.backoff.maxMs,
      ...(opts.maxQueueDepth !== undefined ? { maxDepth: opts.maxQueueDepth } : {}),
      onAdd: () => m.workqueueAdds.inc({ name }),
      onRetry: () => m.workqueueRetries.inc({ name }),
      onDepth: (d) => m.workqueueDepth.set({ name }, d),
    });
  }

  /** Queue a cluster key (before `start` too: it waits for the workers). */
  add(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.opts.workers; i++) this.workers.push(this.work());
  }

  /** No key is handed out any more; resolves when the reconciles in flight have returned. */
  async shutDown(): Promise<void> {
    this.running = false;
    this.queue.shutDown();
    await Promise.all(this.workers.splice(0));
  }

  private async work(): Promise<void> {
    const m = this.opts.metrics;
    const controller = this.name;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined || !this.running) return;
      const slash = key.indexOf('/');
      const end = m.reconcileTime.startTimer({ controller });
      const outcome = await this.reconciler.reconcile(key.slice(0, slash), key.slice(slash + 1));
      end();
      m.reconcileTotal.inc({ controller, result: outcomeLabel(outcome) });
      if (outcome.kind === 'transient' || outcome.kind === 'terminal') m.reconcileErrors.inc({ controller });
      this.queue.done(key);
      switch (outcome.kind) {
        case 'transient':
          this.opts.log.debug({ key, err: outcome.error, retries: this.queue.retries(key) }, 'reconcile failed; backing off');
          this.queue.addRateLimited(key);
          break;
        case 'requeue':
          this.queue.addRateLimited(key);
          break;
        case 'requeueAfter':
          this.queue.forget(key);
          this.queue.addAfter(key, outcome.afterMs);
          break;
        case 'done':
        case 'terminal':
          this.queue.forget(key);
          break;
      }
    }
  }
}
