/**
 * PodDisruptionBudgets: voluntary evictions (node drains) take one pod of a tier at a time. Gate
 * and logic pods that are not Ready may always be evicted (they serve nobody); Redis pods only
 * while the budget holds, so a drain never takes a master together with its replica.
 */
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { ImGroupCluster } from '../api/v1alpha1.js';
import { clusterContext } from './cluster-context.js';
import { type Component, ownedMeta, selectorLabels } from './object-meta.js';

export const MAX_UNAVAILABLE = 1;

export function desiredPodDisruptionBudget(cluster: ImGroupCluster, component: Component): V1PodDisruptionBudget {
  const ctx = clusterContext(cluster);
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: ownedMeta(ctx, ctx.names[component], component),
    spec: {
      maxUnavailable: MAX_UNAVAILABLE,
      selector: { matchLabels: selectorLabels(ctx, component) },
      unhealthyPodEvictionPolicy: component === 'redis' ? 'IfHealthyBudget' : 'AlwaysAllow',
    },
  };
}
