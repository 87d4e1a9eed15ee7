/**
 * The ImGroupCluster controller: informers on ImGroupClusters, the objects the operator owns
 * (StatefulSets, ConfigMaps, Services, by the managed-by label) and logic Pods; every event maps to
 * the key `<namespace>/<cluster>` in a de-duplicating, rate-limited work queue; workers reconcile
 * keys (operator/reconcile) and act on the outcome: done → forget; requeueAfter → add after;
 * transient → rate-limited re-add; terminal → forget (the next change of the object brings it back).
 *
 * Membership latency: the first logic-pod event of a key since its last reconcile started is
 * remembered; when a reconcile writes a new membership ConfigMap the time since that event is
 * observed in imgroup_operator_membership_publish_latency_seconds. A pod event enqueues the key at
 * once; events arriving while the key is reconciled collapse into one more reconcile (the
 * debounce never waits longer than one reconcile).
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  KubernetesObjectApi,
  type V1ConfigMap,
  type V1Pod,
  type V1Service,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../../runtime/ops/logger.js';
import { GROUP, type ImGroupCluster, PLURAL, VERSION } from '../api/v1alpha1.js';
import { APP_NAME, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, MANAGER } from '../desired/object-meta.js';
import { createEventRecorder } from '../reconcile/event-recorder.js';
import { outcomeLabel } from '../reconcile/outcome.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { CONTROLLER_NAME, type ControllerMetrics, createControllerMetrics } from './controller-metrics.js';
import { INFORMER_RESTART_REASONS, ResilientInformer } from './resilient-informer.js';
import type { RedisDriver } from '../reconcile/redis-driver.js';
import type { RuntimeDefaults } from '../desired/runtime-pod.js';
import type { RedisLifecycleResult } from '../redis/lifecycle-types.js';
import { WorkQueue } from './work-queue.js';

export interface ControllerOptions {
  kc: KubeConfig;
  /** Watch only this namespace; undefined = all namespaces. */
  namespace?: string;
  log: Logger;
  registry: Registry;
  /** Or metrics already made on `registry` (when the caller exports them too). */
  metrics?: ControllerMetrics;
  /** Concurrent reconciles (different keys). Default 2. */
  workers?: number;
  /** Informer re-list period. Default 300000 ms. */
  resyncMs?: number;
  /** Informer watchdog: restart after this long without an event. Default 600000 ms. */
  stallMs?: number;
  /** Requeue while replicas are not ready. Default 30000 ms. */
  waitRequeueMs?: number;
  /** Backoff of transient errors: base and cap. Defaults 5 ms and 300000 ms. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Work queue bound. Default 100000 keys. */
  maxQueueDepth?: number;
  /** The operator's defaults of gate and logic pods (its default runtime image). */
  runtime?: RuntimeDefaults;
  /** The Redis Cluster lifecycle; absent: the operator only applies the Redis StatefulSet. */
  redis?: RedisDriver;
  onRedisStep?: (namespace: string, clusterName: string, result: RedisLifecycleResult) => void;
  onClusterGone?: (namespace: string, clusterName: string) => void;
}

function keyOf(namespace: string | undefined, name: string | undefined): string | undefined {
  return namespace && name ? `${namespace}/${name}` : undefined;
}

function ownerKey(obj: KubernetesObject): string | undefined {
  return keyOf(obj.metadata?.namespace, obj.metadata?.labels?.[LABEL_INSTANCE]);
}

export class ImGroupController {
  readonly metrics: ControllerMetrics;
  private readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly informers: ResilientInformer<KubernetesObject>[] = [];
  private readonly pods: ResilientInformer<V1Pod>;
  private readonly core: CoreV1Api;
  private readonly podEventAt = new Map<string, number>();
  /** Membership publishes in flight per cluster key, and keys with events since they began. */
  private readonly publishing = new Map<string, Promise<void>>();
  private readonly publishAgain = new Set<string>();
  private readonly workers: Promise<void>[] = [];
  private running = false;
  /** Set once stopping or halted: this controller never starts again. */
  private stopped: Promise<void> | undefined;

  constructor(private readonly opts: ControllerOptions) {
    const { kc, log } = opts;
    this.metrics = opts.metrics ?? createControllerMetrics(opts.registry);
    const m = this.metrics;
    this.queue = new WorkQueue({
      ...(opts.backoffBaseMs !== undefined ? { baseDelayMs: opts.backoffBaseMs } : {}),
      ...(opts.backoffMaxMs !== undefined ? { maxDelayMs: opts.backoffMaxMs } : {}),
      ...(opts.maxQueueDepth !== undefined ? { maxDepth: opts.maxQueueDepth } : {}),
      onAdd: () => m.workqueueAdds.inc({ name: CONTROLLER_NAME }),
      onRetry: () => m.workqueueRetries.inc({ name: CONTROLLER_NAME }),
      onDepth: (d) => m.workqueueDepth.set({ name: CONTROLLER_NAME }, d),
    });
    const core = kc.makeApiClient(CoreV1Api);
    this.core = core;
    const apps = kc.makeApiClient(AppsV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ns = opts.namespace;
    const nsPath = (group: string, resource: string) => (ns ? `${group}/namespaces/${ns}/${resource}` : `${group}/${resource}`);
    const common = { kc, log: log.child({ component: 'informer' }), ...(opts.resyncMs ? { resyncMs: opts.resyncMs } : {}), ...(opts.stallMs ? { stallMs: opts.stallMs } : {}) };
    const managed = `${LABEL_MANAGED_BY}=${MANAGER}`;

    const clusters = new ResilientInformer<ImGroupCluster & KubernetesObject>({
      ...common,
      path: nsPath(`/apis/${GROUP}/${VERSION}`, PLURAL),
      onRestart: (reason) => m.informerRestarts.inc({ resource: PLURAL, reason }),
      list: async () =>
        (ns
          ? await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })
          : await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as KubernetesListObject<ImGroupCluster & KubernetesObject>,
      onResync: (items) => items.forEach((c) => this.enqueue(keyOf(c.metadata?.namespace, c.metadata?.name))),
    });
    for (const verb of ['add', 'update', 'delete'] as const) clusters.informer.on(verb, (c) => this.enqueue(keyOf(c.metadata?.namespace, c.metadata?.name)));

    const sts = new ResilientInformer<V1StatefulSet>({
      ...common,
      path: nsPath('/apis/apps/v1', 'statefulsets'),
      onRestart: (reason) => m.informerRestarts.inc({ resource: 'statefulsets', reason }),
      labelSelector: managed,
      list: () => (ns ? apps.listNamespacedStatefulSet({ namespace: ns, labelSelector: managed }) : apps.listStatefulSetForAllNamespaces({ labelSelector: managed })),
    });
    const cms = new ResilientInformer<V1ConfigMap>({
      ...common,
      path: nsPath('/api/v1', 'configmaps'),
      onRestart: (reason) => m.informerRestarts.inc({ resource: 'configmaps', reason }),
      labelSelector: managed,
      list: () => (ns ? core.listNamespacedConfigMap({ namespace: ns, labelSelector: managed }) : core.listConfigMapForAllNamespaces({ labelSelector: managed })),
    });
    const svcs = new ResilientInformer<V1Service>({
      ...common,
      path: nsPath('/api/v1', 'services'),
      onRestart: (reason) => m.informerRestarts.inc({ resource: 'services', reason }),
      labelSelector: managed,
      list: () => (ns ? core.listNamespacedService({ namespace: ns, labelSelector: managed }) : core.listServiceForAllNamespaces({ labelSelector: managed })),
    });
    for (const inf of [sts, cms, svcs] as ResilientInformer<KubernetesObject>[]) {
      for (const verb of ['add', 'update', 'delete'] as const) inf.informer.on(verb, (o) => this.enqueue(ownerKey(o)));
    }
    // Logic pods (membership) and Redis pods (the Redis lifecycle); gates' pods are not watched.
    const podSelector = `${LABEL_NAME}=${APP_NAME},${LABEL_COMPONENT} in (logic,redis)`;
    this.pods = new ResilientInformer<V1Pod>({
      ...common,
      path: nsPath('/api/v1', 'pods'),
      onRestart: (reason) => m.informerRestarts.inc({ resource: 'pods', reason }),
      labelSelector: podSelector,
      list: () => (ns ? core.listNamespacedPod({ namespace: ns, labelSelector: podSelector }) : core.listPodForAllNamespaces({ labelSelector: podSelector })),
    });
    for (const verb of ['add', 'update', 'delete'] as const) this.pods.informer.on(verb, (p) => this.onPodEvent(p));
    for (const resource of [PLURAL, 'statefulsets', 'configmaps', 'services', 'pods']) {
      for (const reason of INFORMER_RESTART_REASONS) m.informerRestarts.inc({ resource, reason }, 0);
    }
    this.informers.push(clusters as ResilientInformer<KubernetesObject>, sts as ResilientInformer<KubernetesObject>, cms as ResilientInformer<KubernetesObject>, svcs as ResilientInformer<KubernetesObject>, this.pods as ResilientInformer<KubernetesObject>);

    const cached = new Map<string, ResilientInformer<KubernetesObject>>([
      [`${GROUP}/${VERSION}/ImGroupCluster`, clusters as ResilientInformer<KubernetesObject>],
      ['apps/v1/StatefulSet', sts as ResilientInformer<KubernetesObject>],
      ['v1/ConfigMap', cms as ResilientInformer<KubernetesObject>],
      ['v1/Service', svcs as ResilientInformer<KubernetesObject>],
    ]);
    this.reconciler = new Reconciler({
      objects: KubernetesObjectApi.makeApiClient(kc),
      core,
      custom,
      log: log.child({ component: 'reconcile' }),
      events: createEventRecorder({ core, log }),
      ...(opts.waitRequeueMs !== undefined ? { waitRequeueMs: opts.waitRequeueMs } : {}),
      ...(opts.runtime ? { runtime: opts.runtime } : {}),
      listLogicPods: (namespace, name) => this.podsOf(namespace, name, 'logic'),
      listRedisPods: (namespace, name) => this.podsOf(namespace, name, 'redis'),
      ...(opts.redis ? { redis: opts.redis } : {}),
      ...(opts.onRedisStep ? { onRedisStep: opts.onRedisStep } : {}),
      ...(opts.onClusterGone ? { onClusterGone: opts.onClusterGone } : {}),
      readCached: (apiVersion, kind, namespace, name) => {
        const inf = cached.get(`${apiVersion}/${kind}`);
        if (!inf?.synced) return undefined;
        return inf.informer.get(name, namespace) ?? null;
      },
      onMembershipPublished: (namespace, name) => this.onPublished(`${namespace}/${name}`),
    });
  }

  /** Null when every informer has listed once, else the reason (for /readyz). */
  readiness(): string | null {
    const unsynced = this.informers.filter((i) => !i.synced).length;
    return unsynced === 0 ? null : `${unsynced} informer(s) not synced`;
  }

  async start(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    await Promise.all(this.informers.map((i) => i.start()));
    if (!this.running) return; // halted while the informers listed
    for (let i = 0; i < (this.opts.workers ?? 2); i++) this.workers.push(this.work());
  }

  /** Stop: no new work; wait for the reconciles and publishes in flight, then close. */
  async stop(): Promise<void> {
    if (!this.running && !this.stopped) return; // never started
    this.shutDown(false);
    await this.stopped;
  }

  /**
   * Stop acting now (the leader Lease is lost): no key is handed out and no membership published
   * again, and Redis connections close at once (a Redis step in flight fails). Returns without
   * waiting; the reconciles in flight are not finished but cut off, their API requests failing on
   * the leadership fence (leadership-fence.ts). `stop()` afterwards waits for the rest to settle.
   */
  halt(): void {
    this.shutDown(true);
  }

  private shutDown(halt: boolean): void {
    if (this.stopped) return;
    this.running = false;
    this.queue.shutDown();
    const redisClosed = halt ? this.opts.redis?.close() : undefined;
    this.stopped = (async () => {
      await Promise.all(this.informers.map((i) => i.stop()));
      await Promise.all(this.workers.splice(0));
      await Promise.all(this.publishing.values());
      await (redisClosed ?? this.opts.redis?.close());
    })();
  }

  private enqueue(key: string | undefined): void {
    if (key) this.queue.add(key);
  }

  private onPodEvent(pod: V1Pod): void {
    const key = ownerKey(pod);
    if (!key || !this.running) return;
    // Only logic pods change the membership (whose publish latency is measured). It is published
    // at once, beside the queue: a reconcile of the same cluster may be busy with a Redis step.
    if (pod.metadata?.labels?.[LABEL_COMPONENT] === 'logic') {
      if (!this.podEventAt.has(key)) this.podEventAt.set(key, performance.now());
      this.publishSoon(key);
    }
    this.enqueue(key);
  }

  /** One membership publish per cluster at a time; events meanwhile make one more. */
  private publishSoon(key: string): void {
    if (this.publishing.has(key)) {
      this.publishAgain.add(key);
      return;
    }
    const slash = key.indexOf('/');
    const run = async () => {
      do {
        this.publishAgain.delete(key);
        await this.reconciler.publishMembership(key.slice(0, slash), key.slice(slash + 1));
      } while (this.publishAgain.has(key) && this.running);
      this.publishing.delete(key);
    };
    this.publishing.set(key, run());
  }

  /** The cluster's pods of one component, from the informer once it has listed, else from the API. */
  private async podsOf(namespace: string, name: string, component: 'logic' | 'redis'): Promise<V1Pod[]> {
    if (this.pods.synced) return this.pods.informer.list(namespace).filter((p) => p.metadata?.labels?.[LABEL_INSTANCE] === name && p.metadata?.labels?.[LABEL_COMPONENT] === component);
    const labelSelector = `${LABEL_NAME}=${APP_NAME},${LABEL_INSTANCE}=${name},${LABEL_COMPONENT}=${component}`;
    return (await this.core.listNamespacedPod({ namespace, labelSelector })).items;
  }

  private pendingPodEvent: Map<string, number> = new Map();

  private onPublished(key: string): void {
    const t = this.pendingPodEvent.get(key) ?? this.podEventAt.get(key);
    if (t === undefined) return;
    this.metrics.membershipPublishLatency.observe((performance.now() - t) / 1000);
    this.pendingPodEvent.delete(key);
    this.podEventAt.delete(key);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined || !this.running) return;
      const slash = key.indexOf('/');
      const namespace = key.slice(0, slash);
      const name = key.slice(slash + 1);
      const podEventAt = this.podEventAt.get(key);
      this.podEventAt.delete(key);
      if (podEventAt !== undefined) this.pendingPodEvent.set(key, podEventAt);
      const end = this.metrics.reconcileTime.startTimer({ controller: CONTROLLER_NAME });
      const report = await this.reconciler.reconcile(namespace, name);
      end();
      this.pendingPodEvent.delete(key);
      const outcome = report.outcome;
      this.metrics.reconcileTotal.inc({ controller: CONTROLLER_NAME, result: outcomeLabel(outcome) });
      if (outcome.kind === 'transient' || outcome.kind === 'terminal') this.metrics.reconcileErrors.inc({ controller: CONTROLLER_NAME });
      if (outcome.kind === 'transient') {
        this.opts.log.debug({ key, err: outcome.error, retries: this.queue.retries(key) }, 'reconcile failed; backing off');
        this.queue.done(key);
        this.queue.addRateLimited(key);
        continue;
      }
      this.queue.forget(key);
      this.queue.done(key);
      if (outcome.kind === 'requeueAfter') this.queue.addAfter(key, outcome.afterMs);
    }
  }
}
