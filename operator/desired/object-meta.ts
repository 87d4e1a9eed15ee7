/**
 * Labels and owner references of every object the operator owns: the recommended
 * `app.kubernetes.io/*` labels, and one controller owner reference to the ImGroupCluster, so
 * deleting the cluster deletes its objects and the operator's informers can map them back.
 */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, KIND } from '../api/v1alpha1.js';
import type { ClusterContext } from './cluster-context.js';

export const APP_NAME = 'imgroup';
export const MANAGER = 'imgroup-operator';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';

export type Component = 'gate' | 'logic' | 'redis';

/** The labels a workload's selector matches (immutable once a StatefulSet exists). */
export function selectorLabels(ctx: ClusterContext, component: Component): Record<string, string> {
  return { [LABEL_NAME]: APP_NAME, [LABEL_INSTANCE]: ctx.name, [LABEL_COMPONENT]: component };
}

/**
 * Labels of an owned object (and of pod templates). `component` is null only for objects every
 * tier shares (the generated auth Secret).
 */
export function ownedLabels(ctx: ClusterContext, component: Component | null): Record<string, string> {
  const labels: Record<string, string> = { [LABEL_NAME]: APP_NAME, [LABEL_INSTANCE]: ctx.name };
  if (component !== null) labels[LABEL_COMPONENT] = component;
  labels[LABEL_MANAGED_BY] = MANAGER;
  return labels;
}

export function ownerReference(ctx: ClusterContext): V1OwnerReference {
  return { apiVersion: API_VERSION, kind: KIND, name: ctx.name, uid: ctx.uid, controller: true, blockOwnerDeletion: true };
}

/** Metadata of an owned object in the cluster's namespace. */
export function ownedMeta(ctx: ClusterContext, name: string, component: Component | null, annotations?: Record<string, string>): V1ObjectMeta {
  return {
    name,
    namespace: ctx.namespace,
    labels: ownedLabels(ctx, component),
    ...(annotations ? { annotations } : {}),
    ownerReferences: [ownerReference(ctx)],
  };
}
