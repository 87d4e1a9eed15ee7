/**
 * The operator's one set of informers, shared by its controllers: ImGroupClusters, the objects the
 * operator owns (StatefulSets, ConfigMaps, Services and, with the NetworkPolicy feature,
 * NetworkPolicies, by the managed-by label), the logic and Redis Pods (gates' pods are not
 * watched) and the Secrets labelled `app.kubernetes.io/name=imgroup` (N-auth, and a user's own
 * auth Secret labelled so: an edit rolls the gates at once, not at the next resync). Controllers subscribe to events as cluster keys
 * `<namespace>/<cluster>` (`watch`) and read through the caches (`readCached`, `podsOf`).
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  NetworkingV1Api,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ConfigMap,
  type V1NetworkPolicy,
  type V1Pod,
  type V1Secret,
  type V1Service,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import type { Logger } from '../../runtime/ops/logger.js';
import { GROUP, type ImGroupCluster, PLURAL, VERSION } from '../api/v1alpha1.js';
import { APP_NAME, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, MANAGER } from '../desired/object-meta.js';
import { podSelector, type PodComponent } from '../reconcile/cluster-objects.js';
import type { ControllerMetrics } from './controller-metrics.js';
import { INFORMER_RESTART_REASONS, ResilientInformer } from './resilient-informer.js';

export interface InformerSetOptions {
  kc: KubeConfig;
  /** Watch only this namespace; undefined = all namespaces. */
  namespace?: string;
  log: Logger;
  metrics: ControllerMetrics;
  /** Informer re-list period. Default 300000 ms. */
  resyncMs?: number;
  /** Informer watchdog: restart after this long without an event. Default 600000 ms. */
  stallMs?: number;
  /** Watch the NetworkPolicies the operator owns (its NetworkPolicy feature is on). */
  networkPolicies?: boolean;
}

/** What changed, as a cluster key: the cluster itself, an object it owns (by kind and component), or one of its pods. */
export type ClusterEvent =
  | { source: 'cluster'; key: string; why: 'add' | 'update' | 'delete' | 'resync'; generation: number | undefined }
  | { source: 'owned'; key: string; kind: 'StatefulSet' | 'ConfigMap' | 'Service' | 'NetworkPolicy' | 'Secret'; component: string | undefined }
  | { source: 'pod'; key: string; component: PodComponent };

type AnyInformer = ResilientInformer<KubernetesObject>;
type ClusterEventKind = Extract<ClusterEvent, { source: 'owned' }>['kind'];

function keyOf(namespace: string | undefined, name: string | undefined): string | undefined {
  return namespace && name ? `${namespace}/${name}` : undefined;
}

function ownerKey(obj: KubernetesObject): string | undefined {
  return keyOf(obj.metadata?.namespace, obj.metadata?.labels?.[LABEL_INSTANCE]);
}

export class InformerSet {
  private readonly informers: AnyInformer[] = [];
  private readonly cached: Map<string, AnyInformer>;
  private readonly pods: ResilientInformer<V1Pod>;
  private readonly core: CoreV1Api;
  private readonly watchers: ((event: ClusterEvent) => void)[] = [];

  constructor(opts: InformerSetOptions) {
    const { kc, metrics: m } = opts;
    const core = kc.makeApiClient(CoreV1Api);
    this.core = core;
    const apps = kc.makeApiClient(AppsV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ns = opts.namespace;
    const nsPath = (group: string, resource: string) => (ns ? `${group}/namespaces/${ns}/${resource}` : `${group}/${resource}`);
    const common = { kc, log: opts.log.child({ component: 'informer' }), ...(opts.resyncMs ? { resyncMs: opts.resyncMs } : {}), ...(opts.stallMs ? { stallMs: opts.stallMs } : {}) };
    const managed = `${LABEL_MANAGED_BY}=${MANAGER}`;
    const emit = (event: ClusterEvent) => {
      for (const w of this.watchers) w(event);
    };
    const emitCluster = (why: 'add' | 'update' | 'delete' | 'resync') => (c: KubernetesObject) => {
      const key = keyOf(c.metadata?.namespace, c.metadata?.name);
      if (key) emit({ source: 'cluster', key, why, generation: c.metadata?.generation });
    };

    const clusters = new ResilientInformer<ImGroupCluster & KubernetesObject>({
      ...common,
      path: nsPath(`/apis/${GROUP}/${VERSION}`, PLURAL),
      onRestart: (reason) => m.informerRestarts.inc({ resource: PLURAL, reason }),
      list: async () =>
        (ns
          ? await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })
          : await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as KubernetesListObject<ImGroupCluster & KubernetesObject>,
      onResync: (items) => items.forEach(emitCluster('resync')),
    });
    for (const verb of ['add', 'update', 'delete'] as const) clusters.informer.on(verb, emitCluster(verb));

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
    // The cluster's auth Secret, when labelled as ours (N-auth is): the key is its instance label.
    const ours = `${LABEL_NAME}=${APP_NAME}`;
    const secrets = new ResilientInformer<V1Secret>({
      ...common,
      path: nsPath('/api/v1', 'secrets'),
      onRestart: (reason) => m.informerRestarts.inc({ resource: 'secrets', reason }),
      labelSelector: ours,
      list: () => (ns ? core.listNamespacedSecret({ namespace: ns, labelSelector: ours }) : core.listSecretForAllNamespaces({ labelSelector: ours })),
    });
    const owned: [ClusterEventKind, AnyInformer][] = [['StatefulSet', sts as AnyInformer], ['ConfigMap', cms as AnyInformer], ['Service', svcs as AnyInformer], ['Secret', secrets as AnyInformer]];
    const resources = [PLURAL, 'statefulsets', 'configmaps', 'services', 'pods', 'secrets'];
    let policies: ResilientInformer<V1NetworkPolicy> | undefined;
    if (opts.networkPolicies) {
      const networking = kc.makeApiClient(NetworkingV1Api);
      policies = new ResilientInformer<V1NetworkPolicy>({
        ...common,
        path: nsPath('/apis/networking.k8s.io/v1', 'networkpolicies'),
        onRestart: (reason) => m.informerRestarts.inc({ resource: 'networkpolicies', reason }),
        labelSelector: managed,
        list: () => (ns ? networking.listNamespacedNetworkPolicy({ namespace: ns, labelSelector: managed }) : networking.listNetworkPolicyForAllNamespaces({ labelSelector: managed })),
      });
      owned.push(['NetworkPolicy', policies as AnyInformer]);
      resources.push('networkpolicies');
    }
    for (const [kind, inf] of owned) {
      for (const verb of ['add', 'update', 'delete'] as const) {
        (inf as AnyInformer).informer.on(verb, (o) => {
          const key = ownerKey(o);
          if (key) emit({ source: 'owned', key, kind, component: o.metadata?.labels?.[LABEL_COMPONENT] });
        });
      }
    }

    const selector = `${LABEL_NAME}=${APP_NAME},${LABEL_COMPONENT} in (logic,redis)`;
    this.pods = new ResilientInformer<V1Pod>({
      ...common,
      path: nsPath('/api/v1', 'pods'),
      onRestart: (reason) => m.informerRestarts.inc({ resource: 'pods', reason }),
      labelSelector: selector,
      list: () => (ns ? core.listNamespacedPod({ namespace: ns, labelSelector: selector }) : core.listPodForAllNamespaces({ labelSelector: selector })),
    });
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.pods.informer.on(verb, (p) => {
        const key = ownerKey(p);
        const component = p.metadata?.labels?.[LABEL_COMPONENT];
        if (key && (component === 'logic' || component === 'redis')) emit({ source: 'pod', key, component });
      });
    }
    for (const resource of resources) {
      for (const reason of INFORMER_RESTART_REASONS) m.informerRestarts.inc({ resource, reason }, 0);
    }
    this.informers.push(clusters as AnyInformer, sts as AnyInformer, cms as AnyInformer, svcs as AnyInformer, this.pods as AnyInformer, secrets as AnyInformer);
    if (policies) this.informers.push(policies as AnyInformer);
    this.cached = new Map<string, AnyInformer>([
      ...(policies ? [['networking.k8s.io/v1/NetworkPolicy', policies as AnyInformer] as [string, AnyInformer]] : []),
      [`${GROUP}/${VERSION}/ImGroupCluster`, clusters as AnyInformer],
      ['apps/v1/StatefulSet', sts as AnyInformer],
      ['v1/ConfigMap', cms as AnyInformer],
      ['v1/Service', svcs as AnyInformer],
    ]);
  }

  /** Call `watcher` with every event (and every cluster again after each re-list of the clusters). */
  watch(watcher: (event: ClusterEvent) => void): void {
    this.watchers.push(watcher);
  }

  /** Null when every informer has listed once, else the reason (for /readyz). */
  readiness(): string | null {
    const unsynced = this.informers.filter((i) => !i.synced).length;
    return unsynced === 0 ? null : `${unsynced} informer(s) not synced`;
  }

  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  /**
   * A cached object: the object, null when the cache knows it is absent, or undefined when its
   * kind is not cached or its informer has not listed yet.
   */
  readCached(apiVersion: string, kind: string, namespace: string, name: string): KubernetesObject | null | undefined {
    const inf = this.cached.get(`${apiVersion}/${kind}`);
    if (!inf?.synced) return undefined;
    return inf.informer.get(name, namespace) ?? null;
  }

  /** The cluster's pods of one component, from the informer once it has listed, else from the API. */
  async podsOf(namespace: string, name: string, component: PodComponent): Promise<V1Pod[]> {
    if (this.pods.synced) return this.pods.informer.list(namespace).filter((p) => p.metadata?.labels?.[LABEL_INSTANCE] === name && p.metadata?.labels?.[LABEL_COMPONENT] === component);
    return (await this.core.listNamespacedPod({ namespace, labelSelector: podSelector(name, component) })).items;
  }
}
