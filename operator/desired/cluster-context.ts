/**
 * What every desired-state function needs from an ImGroupCluster: its identity (name, namespace,
 * uid for owner references) and its defaulted spec, plus the names of the objects it owns.
 */
import { defaultSpec } from '../api/defaults.js';
import type { ImGroupCluster, ImGroupClusterSpec } from '../api/v1alpha1.js';

export interface ObjectNames {
  /** StatefulSet and client Service of the gates. */
  gate: string;
  /** StatefulSet and headless Service of the logic nodes. */
  logic: string;
  /** StatefulSet and headless Service of the Redis Cluster. */
  redis: string;
  /** ConfigMap with `membership.json`. */
  membership: string;
  /** ServiceAccount, Role and RoleBinding of the gate pods. */
  gateAccess: string;
  /** The Secret the operator generates when `spec.auth.secretRef` is absent. */
  generatedAuth: string;
}

export function objectNames(clusterName: string): ObjectNames {
  return {
    gate: `${clusterName}-gate`,
    logic: `${clusterName}-logic`,
    redis: `${clusterName}-redis`,
    membership: `${clusterName}-membership`,
    gateAccess: `${clusterName}-gate`,
    generatedAuth: `${clusterName}-auth`,
  };
}

export interface ClusterContext {
  name: string;
  namespace: string;
  uid: string;
  spec: ImGroupClusterSpec;
  names: ObjectNames;
}

/**
 * The context of a cluster read from the API. Throws TypeError when name, namespace or uid is
 * missing: the API server always sets them, so that is a programming error (the reconciler
 * checks untrusted objects with `resolveImGroupCluster` first).
 */
export function clusterContext(cluster: ImGroupCluster): ClusterContext {
  const { name, namespace, uid } = cluster.metadata;
  if (!name || !namespace || !uid) {
    throw new TypeError(`ImGroupCluster ${namespace ?? '?'}/${name ?? '?'} lacks metadata.name, metadata.namespace or metadata.uid`);
  }
  return { name, namespace, uid, spec: defaultSpec(cluster.spec), names: objectNames(name) };
}
