/**
 * Pods by label and field selector, the way the kubelet (`spec.nodeName=<node>`) and a scheduler
 * (`spec.nodeName=`) see them: a list+watch (client-node ListWatch) for prompt events, restarted
 * with backoff after a watch error, plus a plain list every `resyncMs` handed to `onList` — the
 * truth the owner reconciles against, so a stalled or broken watch costs at most one period.
 */
import { ListWatch, type V1Pod, Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { AgentApi } from './agent-api.js';

export interface PodWatchOptions {
  api: AgentApi;
  /** Only this namespace; default all namespaces. */
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  resyncMs: number;
  log: Logger;
  /** A pod was added or changed (deleted = false) or deleted (true). */
  onPod: (pod: V1Pod, deleted: boolean) => void;
  /**
   * Every pod the selectors match, after each periodic list; `listStartedMs` is when the list was
   * asked for (a pod the watch delivered after that may be missing from it without being gone).
   */
  onList: (pods: readonly V1Pod[], listStartedMs: number) => void;
}

export class PodWatch {
  private readonly watch: ListWatch<V1Pod>;
  private stopped = true;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private resyncing = false;

  constructor(private readonly opts: PodWatchOptions) {
    const path = opts.namespace ? `/api/v1/namespaces/${opts.namespace}/pods` : '/api/v1/pods';
    this.watch = new ListWatch<V1Pod>(path, new Watch(opts.api.kc), () => this.list(), false, opts.labelSelector, opts.fieldSelector);
    this.watch.on('add', (pod) => this.deliver(pod, false));
    this.watch.on('update', (pod) => this.deliver(pod, false));
    this.watch.on('delete', (pod) => this.deliver(pod, true));
    this.watch.on('error', (err) => {
      if (this.stopped) return;
      this.opts.log.debug({ err, selector: opts.fieldSelector }, 'pod watch failed; restarting');
      this.scheduleRestart();
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.resync();
    void this.watch.start().catch(() => this.scheduleRestart());
    this.resyncTimer = setInterval(() => void this.resync(), this.opts.resyncMs);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.restartTimer);
    await this.watch.stop();
  }

  /** List now and hand the result to onList (also run every resyncMs). */
  async resync(): Promise<void> {
    if (this.resyncing || this.stopped) return;
    this.resyncing = true;
    try {
      const startedMs = Date.now();
      const list = await this.list();
      if (!this.stopped) this.opts.onList(list.items, startedMs);
    } catch (err) {
      this.opts.log.debug({ err }, 'pod list failed');
    } finally {
      this.resyncing = false;
    }
  }

  private list() {
    const { api, namespace, labelSelector, fieldSelector } = this.opts;
    return namespace
      ? api.core.listNamespacedPod({ namespace, labelSelector, fieldSelector })
      : api.core.listPodForAllNamespaces({ labelSelector, fieldSelector });
  }

  private deliver(pod: V1Pod, deleted: boolean): void {
    if (this.stopped) return;
    try {
      this.opts.onPod(pod, deleted);
    } catch (err) {
      this.opts.log.warn({ err, pod: pod.metadata?.name }, 'pod event handler failed');
    }
  }

  private scheduleRestart(): void {
    if (this.stopped || this.restartTimer) return;
    const delay = Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6));
    this.failures++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      void this.watch
        .start()
        .then(() => {
          this.failures = 0;
        })
        .catch(() => this.scheduleRestart());
    }, delay);
    this.restartTimer.unref();
  }
}
