/**
 * The scheduler's one job, for tests that run no kube-scheduler: pending pods (no nodeName, not
 * being deleted, no scheduling gates) that match a label selector — and whose nodeSelector the
 * node's labels satisfy — are bound to the agent's node with a Binding (`pods/binding`), as a
 * scheduler binds them. Affinity, taints and resources are not considered. Several agents may
 * bind the same selector: a pod bound by another is refused by the API (409) and left alone.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiStatus } from '../../../operator/reconcile/api-errors.js';
import type { AgentApi } from './agent-api.js';
import { PodWatch } from './pod-watch.js';

export interface BindSelector {
  /** Label selector of the pods to bind (e.g. `app.kubernetes.io/instance=chat`); required. */
  labelSelector: string;
  /** Only pods of this namespace; default all. */
  namespace?: string;
}

export interface PodBinderOptions {
  api: AgentApi;
  nodeName: string;
  nodeLabels: Readonly<Record<string, string>>;
  selector: BindSelector;
  resyncMs: number;
  log: Logger;
}

export class PodBinder {
  private readonly watch: PodWatch;
  private readonly inFlight = new Set<string>();
  /** Pods bound by this binder (uids). */
  readonly bound = new Set<string>();

  constructor(private readonly opts: PodBinderOptions) {
    if (!opts.selector.labelSelector) throw new RangeError('the node agent binds only pods matched by a non-empty labelSelector');
    this.watch = new PodWatch({
      api: opts.api,
      namespace: opts.selector.namespace,
      labelSelector: opts.selector.labelSelector,
      fieldSelector: 'spec.nodeName=',
      resyncMs: opts.resyncMs,
      log: opts.log,
      onPod: (pod, deleted) => {
        if (!deleted) this.consider(pod);
      },
      onList: (pods) => {
        for (const pod of pods) this.consider(pod);
      },
    });
  }

  start(): Promise<void> {
    return this.watch.start();
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }

  /** Would this pod be bound here? */
  bindable(pod: V1Pod): boolean {
    if (pod.spec?.nodeName || pod.metadata?.deletionTimestamp) return false;
    if ((pod.spec?.schedulingGates ?? []).length > 0) return false;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return false;
    return Object.entries(pod.spec?.nodeSelector ?? {}).every(([k, v]) => this.opts.nodeLabels[k] === v);
  }

  private consider(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid || this.inFlight.has(uid) || this.bound.has(uid) || !this.bindable(pod)) return;
    this.inFlight.add(uid);
    void this.bind(pod, uid).finally(() => this.inFlight.delete(uid));
  }

  private async bind(pod: V1Pod, uid: string): Promise<void> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    try {
      await this.opts.api.bindPod(namespace, name, uid, this.opts.nodeName);
      this.bound.add(uid);
      this.opts.log.debug({ pod: `${namespace}/${name}`, node: this.opts.nodeName }, 'pod bound');
    } catch (err) {
      const status = apiStatus(err);
      // 409: bound elsewhere meanwhile; 404: deleted. Anything else is tried again at the next resync.
      if (status !== 409 && status !== 404) this.opts.log.warn({ err, pod: `${namespace}/${name}` }, 'binding failed');
    }
  }
}
