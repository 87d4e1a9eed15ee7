/**
 * NetworkPolicies N-gate, N-logic and N-redis (ingress only), when `spec.networkPolicy.enabled`
 * and the operator's feature switch (IMGROUP_OPERATOR_NETWORK_POLICIES) are on:
 *   - gates: the client port from `clientFrom` (absent: anywhere), the ops port from `metricsFrom`;
 *   - logic: the internal port only from the cluster's gate pods, the ops port from `metricsFrom`;
 *   - Redis: the client port only from the cluster's gate, logic and Redis pods and the operator's
 *     pods; the cluster-bus port only from the cluster's Redis pods.
 * Anything else into these pods is dropped by a network plugin that enforces NetworkPolicies (the
 * kubelet's probes come from the node, which NetworkPolicies always allow). Egress is not
 * restricted: gates watch N-membership on the API server, whose address no pod selector names,
 * and every restriction above already closes each path into the cluster's pods.
 * Ports are named: they follow the containers' port names, whatever their numbers.
 */
import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyIngressRule, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import type { ImGroupCluster, NetworkPolicyPeer } from '../api/v1alpha1.js';
import { type ClusterContext, clusterContext } from './cluster-context.js';
import { APP_NAME, type Component, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME, ownedMeta, selectorLabels } from './object-meta.js';
import type { OperatorPods } from './operator-pods.js';

/** The label every namespace carries with its own name (set by the API server). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** Container port names the policies open (the StatefulSets' names). */
export const POLICY_PORTS = { gateClient: 'client', ops: 'ops', logicInternal: 'internal', redis: 'redis', redisBus: 'bus' } as const;

/** Sources of the ops ports when `spec.networkPolicy.metricsFrom` is absent: every pod of every namespace. */
export const DEFAULT_METRICS_FROM: readonly V1NetworkPolicyPeer[] = [{ namespaceSelector: {} }];

/** The NetworkPolicy names of a cluster (one per tier, named as its StatefulSet). */
export function networkPolicyNames(cluster: ImGroupCluster): string[] {
  const { names } = clusterContext(cluster);
  return [names.gate, names.logic, names.redis];
}

function peer(p: NetworkPolicyPeer): V1NetworkPolicyPeer {
  const selector = (s: { matchLabels?: Record<string, string> }): V1LabelSelector => (s.matchLabels ? { matchLabels: { ...s.matchLabels } } : {});
  if (p.ipBlock) return { ipBlock: { cidr: p.ipBlock.cidr, ...(p.ipBlock.except ? { except: [...p.ipBlock.except] } : {}) } };
  return { ...(p.namespaceSelector ? { namespaceSelector: selector(p.namespaceSelector) } : {}), ...(p.podSelector ? { podSelector: selector(p.podSelector) } : {}) };
}

/**
 * A rule admitting `sources` to `ports`: undefined sources = any source (no `from`); an empty
 * list = no rule at all (an empty `from` would admit everyone).
 */
function rule(ports: string[], sources: readonly V1NetworkPolicyPeer[] | undefined): V1NetworkPolicyIngressRule[] {
  const p = ports.map((port) => ({ protocol: 'TCP', port }));
  if (sources === undefined) return [{ ports: p }];
  if (sources.length === 0) return [];
  // `_from`: client-node's name of `from` (its serializer writes it as `from`).
  return [{ ports: p, _from: sources.map((s) => structuredClone(s)) }];
}

function metricsRule(ctx: ClusterContext): V1NetworkPolicyIngressRule[] {
  const from = ctx.spec.networkPolicy.metricsFrom;
  return rule([POLICY_PORTS.ops], from === undefined ? DEFAULT_METRICS_FROM : from.map(peer));
}

function policy(ctx: ClusterContext, name: string, component: Component, ingress: V1NetworkPolicyIngressRule[]): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: ownedMeta(ctx, name, component),
    spec: { podSelector: { matchLabels: selectorLabels(ctx, component) }, policyTypes: ['Ingress'], ingress },
  };
}

/** Pods of this cluster's tiers (same namespace). */
function clusterPods(ctx: ClusterContext, components: Component[]): V1NetworkPolicyPeer {
  return {
    podSelector: {
      matchLabels: { [LABEL_NAME]: APP_NAME, [LABEL_INSTANCE]: ctx.name },
      matchExpressions: [{ key: LABEL_COMPONENT, operator: 'In', values: [...components] }],
    },
  };
}

function operatorPeer(op: OperatorPods): V1NetworkPolicyPeer {
  return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: op.namespace } }, podSelector: { matchLabels: { ...op.labels } } };
}

export interface NetworkPolicyInputs {
  /** The operator's own pods (admitted to Redis); undefined: an operator outside the cluster. */
  operatorPods?: OperatorPods | undefined;
}

/** The three policies, or none when `spec.networkPolicy.enabled` is false. */
export function desiredNetworkPolicies(cluster: ImGroupCluster, inputs: NetworkPolicyInputs = {}): V1NetworkPolicy[] {
  const ctx = clusterContext(cluster);
  const np = ctx.spec.networkPolicy;
  if (!np.enabled) return [];
  const redisClients = [clusterPods(ctx, ['gate', 'logic', 'redis']), ...(inputs.operatorPods ? [operatorPeer(inputs.operatorPods)] : [])];
  return [
    policy(ctx, ctx.names.gate, 'gate', [...rule([POLICY_PORTS.gateClient], np.clientFrom?.map(peer)), ...metricsRule(ctx)]),
    policy(ctx, ctx.names.logic, 'logic', [...rule([POLICY_PORTS.logicInternal], [clusterPods(ctx, ['gate'])]), ...metricsRule(ctx)]),
    policy(ctx, ctx.names.redis, 'redis', [...rule([POLICY_PORTS.redis], redisClients), ...rule([POLICY_PORTS.redisBus], [clusterPods(ctx, ['redis'])])]),
  ];
}
