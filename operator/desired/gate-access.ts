/**
 * What the gate pods may do with the API: get, list and watch the ConfigMap N-membership — that
 * one object (resourceNames), nothing else. ServiceAccount, Role and RoleBinding, all `N-gate`.
 *
 * A Role with resourceNames allows list and watch only for requests that name the object, so the
 * gate must list and watch `/api/v1/namespaces/<ns>/configmaps?fieldSelector=metadata.name=<name>`
 * (a plain GET of `/api/v1/namespaces/<ns>/configmaps/<name>` works as well).
 */
import type { V1PolicyRule, V1Role, V1RoleBinding, V1ServiceAccount } from '@kubernetes/client-node';
import type { ImGroupCluster } from '../api/v1alpha1.js';
import { clusterContext } from './cluster-context.js';
import { ownedMeta } from './object-meta.js';

export const GATE_VERBS = ['get', 'list', 'watch'] as const;

export function desiredGateServiceAccount(cluster: ImGroupCluster): V1ServiceAccount {
  const ctx = clusterContext(cluster);
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: ownedMeta(ctx, ctx.names.gateAccess, 'gate') };
}

export function gateMembershipRule(cluster: ImGroupCluster): V1PolicyRule {
  const ctx = clusterContext(cluster);
  return { apiGroups: [''], resources: ['configmaps'], resourceNames: [ctx.names.membership], verbs: [...GATE_VERBS] };
}

export function desiredGateRole(cluster: ImGroupCluster): V1Role {
  const ctx = clusterContext(cluster);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: ownedMeta(ctx, ctx.names.gateAccess, 'gate'),
    rules: [gateMembershipRule(cluster)],
  };
}

export function desiredGateRoleBinding(cluster: ImGroupCluster): V1RoleBinding {
  const ctx = clusterContext(cluster);
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: ownedMeta(ctx, ctx.names.gateAccess, 'gate'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ctx.names.gateAccess },
    subjects: [{ kind: 'ServiceAccount', name: ctx.names.gateAccess, namespace: ctx.namespace }],
  };
}
