/**
 * The status a reconcile computes from what it found: ready counts from the StatefulSets' status,
 * the published membership, and the Ready / Progressing / Degraded / MembershipPublished conditions.
 * Pure; `redis` is kept as it is (the Redis bootstrapper owns it).
 */
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { MembershipDocument } from '../../runtime/protocol/membership.js';
import type { ImGroupClusterStatus } from '../api/v1alpha1.js';
import type { ValidImGroupCluster } from '../api/validation.js';
import type { SecretsState } from '../desired/secret-rollout.js';
import { SHARED_SECRETS_ANNOTATION } from '../desired/secret-rollout.js';
import { type ConditionInput, setConditions } from './conditions.js';

export interface ObservedState {
  gate: V1StatefulSet | undefined;
  logic: V1StatefulSet | undefined;
  membership: MembershipDocument;
}

function readyOf(sts: V1StatefulSet | undefined): number {
  const n = sts?.status?.readyReplicas;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0;
}

export function convergedStatus(cluster: ValidImGroupCluster, observed: ObservedState, now: Date): ImGroupClusterStatus {
  const spec = cluster.spec;
  const gate = { replicas: spec.gate.replicas, ready: readyOf(observed.gate) };
  const logic = { replicas: spec.logic.replicas, ready: readyOf(observed.logic) };
  const allReady = gate.ready >= gate.replicas && logic.ready >= logic.replicas;
  const members = observed.membership.members.length;
  const inputs: ConditionInput[] = [
    allReady
      ? { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: `gates ${gate.ready}/${gate.replicas}, logic ${logic.ready}/${logic.replicas} ready` }
      : { type: 'Ready', status: 'False', reason: 'ReplicasNotReady', message: `gates ${gate.ready}/${gate.replicas}, logic ${logic.ready}/${logic.replicas} ready` },
    allReady
      ? { type: 'Progressing', status: 'False', reason: 'Converged', message: 'every object is applied and every replica is ready' }
      : { type: 'Progressing', status: 'True', reason: 'WaitingForReplicas', message: 'objects applied; waiting for replicas to become ready' },
    { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'the last reconcile succeeded' },
    { type: 'MembershipPublished', status: 'True', reason: 'Published', message: `membership ${observed.membership.version} with ${members} member(s) published` },
  ];
  return {
    ...(cluster.status ?? {}),
    observedGeneration: cluster.metadata.generation ?? 0,
    gate,
    logic,
    membership: { version: observed.membership.version, members },
    conditions: setConditions(cluster.status?.conditions ?? [], inputs, cluster.metadata.generation, now),
  };
}

export function pausedStatus(cluster: ValidImGroupCluster, now: Date): ImGroupClusterStatus {
  const input: ConditionInput = { type: 'Progressing', status: 'False', reason: 'Paused', message: 'spec.paused is true: the operator changes nothing until it is false' };
  return {
    ...(cluster.status ?? {}),
    observedGeneration: cluster.metadata.generation ?? 0,
    conditions: setConditions(cluster.status?.conditions ?? [], [input], cluster.metadata.generation, now),
  };
}

export function failedStatus(cluster: { metadata: { generation?: number }; status?: ImGroupClusterStatus }, reason: string, message: string, now: Date): ImGroupClusterStatus {
  const inputs: ConditionInput[] = [
    { type: 'Degraded', status: 'True', reason, message },
    { type: 'Ready', status: 'False', reason, message },
    { type: 'Progressing', status: 'False', reason, message },
  ];
  return {
    ...(cluster.status ?? {}),
    observedGeneration: cluster.metadata.generation ?? 0,
    conditions: setConditions(cluster.status?.conditions ?? [], inputs, cluster.metadata.generation, now),
  };
}

/**
 * SecretsApplied: whether the pods follow the auth Secret `secretName` (secret-rollout.ts). False
 * says what the operator will not do and how to go on; N-logic is `logicName`.
 */
export function secretsCondition(state: SecretsState, secretName: string, logicName: string): ConditionInput {
  switch (state.kind) {
    case 'applied':
      return { type: 'SecretsApplied', status: 'True', reason: 'Applied', message: `gates follow jwt-secret and admin-token of Secret ${secretName} (an edit rolls them); internal-token and redis-password are those the pods started with` };
    case 'unreadable':
      return { type: 'SecretsApplied', status: 'Unknown', reason: 'SecretUnreadable', message: `${state.reason}: pods that need it cannot start; nothing is rolled` };
    case 'sharedChanged':
      return {
        type: 'SecretsApplied',
        status: 'False',
        reason: 'SharedSecretChanged',
        message:
          `internal-token or redis-password of Secret ${secretName} differs from what the pods started with. The operator rolls no pod for them (and holds the gates): ` +
          `pods restarted with different values cannot reach each other. Put the previous values back, or rotate them as the README's "Rotating secrets" says ` +
          `(restart Redis, logic and gate pods, then: kubectl annotate statefulset ${logicName} ${SHARED_SECRETS_ANNOTATION}-)`,
      };
  }
}
