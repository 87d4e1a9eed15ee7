/**
 * Every object of a cluster that the reconciler applies (server-side apply, field manager
 * `imgroup-operator`), in an order where each object's dependencies come first: the gates'
 * access, the membership ConfigMap, Services, NetworkPolicies, budgets, then the StatefulSets.
 * The generated auth Secret is not in the list: it is created only when absent (auth-secret.ts).
 * NetworkPolicies the cluster must not have (turned off in its spec) are listed in `absent`.
 */
import type { V1ConfigMap, V1NetworkPolicy, V1Pod, V1PodDisruptionBudget, V1Role, V1RoleBinding, V1Service, V1ServiceAccount, V1StatefulSet } from '@kubernetes/client-node';
import type { MembershipDocument } from '../../runtime/protocol/membership.js';
import type { ImGroupCluster } from '../api/v1alpha1.js';
import { desiredGateRole, desiredGateRoleBinding, desiredGateServiceAccount } from './gate-access.js';
import { desiredGateStatefulSet } from './gate-statefulset.js';
import { desiredLogicStatefulSet } from './logic-statefulset.js';
import { desiredMembershipConfigMap, membershipDocument } from './membership-configmap.js';
import { desiredNetworkPolicies, type NetworkPolicyInputs, networkPolicyNames } from './network-policies.js';
import { desiredPodDisruptionBudget } from './pod-disruption-budgets.js';
import { desiredRedisStatefulSet } from './redis-statefulset.js';
import type { RuntimeDefaults } from './runtime-pod.js';
import { desiredGateService, desiredLogicService, desiredRedisService } from './services.js';

export type DesiredObject = V1ServiceAccount | V1Role | V1RoleBinding | V1ConfigMap | V1Service | V1NetworkPolicy | V1PodDisruptionBudget | V1StatefulSet;

/** An object of the cluster's namespace that must not exist (the reconciler deletes it if it is ours). */
export interface AbsentObject {
  apiVersion: string;
  kind: string;
  name: string;
}

export interface DesiredInputs {
  /** The cluster's logic pods as listed from the API; the Ready, non-terminating ones become members. */
  logicPods: readonly V1Pod[];
  /** Pods of N-redis to apply now (default: masters × (1 + replicasPerMaster)); see redis-statefulset.ts. */
  redisReplicas?: number;
  /** The operator's defaults of gate and logic pods (its default runtime image). */
  runtime?: RuntimeDefaults;
  /** The operator's NetworkPolicy feature (IMGROUP_OPERATOR_NETWORK_POLICIES); absent: off, no policy is made or deleted. */
  networkPolicies?: NetworkPolicyInputs;
  /** Secret fingerprints (secret-rollout.ts): the gate pod template's and the one recorded on N-logic. */
  secrets?: { gateHash?: string | undefined; sharedHash?: string | undefined };
}

export interface DesiredState {
  objects: DesiredObject[];
  /** The membership document in `objects` (for status.membership). */
  membership: MembershipDocument;
  /** Objects to delete if they exist and the cluster owns them. */
  absent: AbsentObject[];
}

export function desiredState(cluster: ImGroupCluster, inputs: DesiredInputs): DesiredState {
  const membership = membershipDocument(cluster, inputs.logicPods);
  const policies = inputs.networkPolicies ? desiredNetworkPolicies(cluster, inputs.networkPolicies) : [];
  const absent: AbsentObject[] =
    inputs.networkPolicies && policies.length === 0 ? networkPolicyNames(cluster).map((name) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', name })) : [];
  const objects: DesiredObject[] = [
    desiredGateServiceAccount(cluster),
    desiredGateRole(cluster),
    desiredGateRoleBinding(cluster),
    desiredMembershipConfigMap(cluster, membership),
    desiredGateService(cluster),
    desiredLogicService(cluster),
    desiredRedisService(cluster),
    ...policies,
    desiredPodDisruptionBudget(cluster, 'gate'),
    desiredPodDisruptionBudget(cluster, 'logic'),
    desiredPodDisruptionBudget(cluster, 'redis'),
    desiredRedisStatefulSet(cluster, inputs.redisReplicas === undefined ? {} : { replicas: inputs.redisReplicas }),
    desiredLogicStatefulSet(cluster, inputs.runtime, inputs.secrets?.sharedHash),
    desiredGateStatefulSet(cluster, inputs.runtime, inputs.secrets?.gateHash),
  ];
  return { objects, membership, absent };
}
