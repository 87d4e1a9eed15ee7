/**
 * How the reconcilers (cluster, membership, Redis) read and write a cluster's objects: from the
 * informer caches when they have listed, else from the API; server-side apply (field manager
 * `imgroup-operator`, force: we own the fields we apply) only of objects whose applied hash
 * differs (applied-hash.ts).
 */
import { type CoreV1Api, type CustomObjectsApi, type KubernetesObject, type KubernetesObjectApi, type NetworkingV1Api, PatchStrategy, type V1Pod } from '@kubernetes/client-node';
import { GROUP, type ImGroupCluster, PLURAL, VERSION } from '../api/v1alpha1.js';
import type { AbsentObject, DesiredObject } from '../desired/desired-objects.js';
import { APP_NAME, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME, MANAGER } from '../desired/object-meta.js';
import { isNotFound } from './api-errors.js';
import { appliedHashOf, withAppliedHash } from './applied-hash.js';

/** The pod tiers a reconciler reads. */
export type PodComponent = 'logic' | 'redis';

export interface ClusterObjectsOptions {
  objects: KubernetesObjectApi;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  /** NetworkPolicies (the operator's NetworkPolicy feature); absent: none is deleted. */
  networking?: NetworkingV1Api;
  /**
   * Objects from informer caches: the object, null when the cache knows it is absent, or
   * undefined when this kind is not cached (then it is read from the API).
   */
  readCached?: (apiVersion: string, kind: string, namespace: string, name: string) => KubernetesObject | null | undefined;
  /** The cluster's pods of one tier (e.g. from an informer cache). Default: list them from the API. */
  listPods?: (namespace: string, clusterName: string, component: PodComponent) => Promise<V1Pod[]>;
}

export function podSelector(clusterName: string, component: PodComponent): string {
  return `${LABEL_NAME}=${APP_NAME},${LABEL_INSTANCE}=${clusterName},${LABEL_COMPONENT}=${component}`;
}

export class ClusterObjects {
  constructor(private readonly opts: ClusterObjectsOptions) {}

  get core(): CoreV1Api {
    return this.opts.core;
  }

  get custom(): CustomObjectsApi {
    return this.opts.custom;
  }

  /** The ImGroupCluster (cached unless `fresh`); throws NotFound when it is gone. */
  async getCluster(namespace: string, name: string, fresh = false): Promise<ImGroupCluster> {
    const cached = fresh ? undefined : this.opts.readCached?.(`${GROUP}/${VERSION}`, 'ImGroupCluster', namespace, name);
    if (cached) return cached as ImGroupCluster;
    return (await this.opts.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as ImGroupCluster;
  }

  /** A cached object (informer), else one read from the API; null when absent. */
  async readLive<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string, name: string): Promise<T | null> {
    const cached = this.opts.readCached?.(apiVersion, kind, namespace, name);
    if (cached !== undefined) return cached as T | null;
    try {
      return (await this.opts.objects.read({ apiVersion, kind, metadata: { name, namespace } })) as T;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async listPods(namespace: string, clusterName: string, component: PodComponent): Promise<V1Pod[]> {
    if (this.opts.listPods) return this.opts.listPods(namespace, clusterName, component);
    return (await this.opts.core.listNamespacedPod({ namespace, labelSelector: podSelector(clusterName, component) })).items;
  }

  /**
   * Apply `obj` unless the live object carries its applied hash; the live object after this step
   * (the apply response, or the unchanged live object). An applied object's `Kind/name` is pushed
   * onto `applied`.
   */
  async applyIfChanged(obj: DesiredObject, applied: string[]): Promise<KubernetesObject> {
    const { object, hash } = withAppliedHash(obj as KubernetesObject);
    const cached = this.opts.readCached?.(object.apiVersion ?? '', object.kind ?? '', object.metadata?.namespace ?? '', object.metadata?.name ?? '');
    if (cached && appliedHashOf(cached) === hash) return cached;
    let live: KubernetesObject | undefined;
    if (cached === undefined) {
      try {
        live = await this.opts.objects.read(object as KubernetesObject & { metadata: { name: string; namespace: string } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (live && appliedHashOf(live) === hash) return live;
    const result = await this.opts.objects.patch(object, undefined, undefined, MANAGER, true, PatchStrategy.ServerSideApply);
    applied.push(`${obj.kind}/${obj.metadata?.name}`);
    return result;
  }

  /**
   * Delete `absent` in `namespace` if it exists and its controller is the cluster `ownerUid` (a
   * same-named object of someone else is left alone); its `Kind/name` is pushed onto `deleted`.
   * Only NetworkPolicies are ever absent.
   */
  async deleteIfOwned(namespace: string, absent: AbsentObject, ownerUid: string, deleted: string[]): Promise<void> {
    const networking = this.opts.networking;
    if (absent.kind !== 'NetworkPolicy' || !networking) throw new TypeError(`cannot delete ${absent.kind}/${absent.name}`);
    const live = await this.readLive(absent.apiVersion, absent.kind, namespace, absent.name);
    if (!live || !live.metadata?.ownerReferences?.some((r) => r.controller && r.uid === ownerUid)) return;
    try {
      await networking.deleteNamespacedNetworkPolicy({ namespace, name: absent.name, body: { preconditions: { uid: live.metadata.uid as string } } });
      deleted.push(`${absent.kind}/${absent.name}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
