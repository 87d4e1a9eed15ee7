/**
 * The operator's informers: runtime/kube's informer (list-watch loop + cache) over one collection
 * of the API server, with the operator's defaults. It does not stay dead: a failed list or watch
 * is retried with backoff (`restartDelayMs` up to 30 s), a watch is resumed from its
 * resourceVersion, the collection is re-listed every `resyncMs`, and a watch without any event or
 * bookmark for `stallMs` is restarted (the watchdog). `synced` is true once the first list succeeded.
 */
import type { Informer, KubeConfig, KubernetesListObject, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '../../runtime/ops/logger.js';
import { ClientListWatchApi } from '../../runtime/kube/client-list-watch-api.js';
import { KubeInformer } from '../../runtime/kube/informer.js';
import { LIST_WATCH_RESTART_REASONS, type ListWatchRestartReason } from '../../runtime/kube/list-watch.js';

export interface ResilientInformerOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** Watch path, e.g. /api/v1/namespaces/ns/pods. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  log: Logger;
  /** Default 300000 ms. */
  resyncMs?: number;
  /** Default 600000 ms. */
  stallMs?: number;
  /** Default 200 ms, doubling to 30000 ms. */
  restartDelayMs?: number;
  /** Called after every (re)list with every object, so the controller re-enqueues them. */
  onResync?: (objects: readonly T[]) => void;
  /** Called on every restart with its reason (for a metric). */
  onRestart?: (reason: InformerRestartReason) => void;
}

/** Why an informer was restarted: periodic re-list, watchdog, or an error of list/watch. */
export const INFORMER_RESTART_REASONS = LIST_WATCH_RESTART_REASONS;
export type InformerRestartReason = ListWatchRestartReason;

const DEFAULT_RESYNC_MS = 300_000;
const DEFAULT_STALL_MS = 600_000;
const DEFAULT_RESTART_DELAY_MS = 200;
const MAX_RESTART_DELAY_MS = 30_000;

export class ResilientInformer<T extends KubernetesObject> {
  readonly informer: Informer<T> & ObjectCache<T>;
  private readonly cache: KubeInformer<T>;

  constructor(opts: ResilientInformerOptions<T>) {
    this.cache = new KubeInformer<T>({
      api: new ClientListWatchApi(opts.kc, { path: opts.path, list: opts.list, labelSelector: opts.labelSelector }),
      log: opts.log.child({ path: opts.path }),
      stallMs: opts.stallMs ?? DEFAULT_STALL_MS,
      resyncMs: opts.resyncMs ?? DEFAULT_RESYNC_MS,
      backoff: { minMs: opts.restartDelayMs ?? DEFAULT_RESTART_DELAY_MS, maxMs: MAX_RESTART_DELAY_MS },
      ...(opts.onResync ? { onResync: opts.onResync } : {}),
      ...(opts.onRestart ? { onRestart: opts.onRestart } : {}),
    });
    this.informer = this.cache;
  }

  /** True once the first list succeeded. */
  get synced(): boolean {
    return this.cache.synced;
  }

  /** List (resolves after the first attempt; a failure is retried in the background), then watch. */
  start(): Promise<void> {
    return this.cache.start();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }
}
