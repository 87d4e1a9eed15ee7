/**
 * ImGroupCluster objects for the desired-state tests, and what the kubelet would make of a
 * container's env (for running the runtime's own option parsing on it).
 */
import type { V1Container, V1EnvVar } from '@kubernetes/client-node';
import type { ImGroupCluster, ImGroupClusterSpecInput } from '../../../../operator/api/v1alpha1.js';
import { AUTH_SECRET_KEYS } from '../../../../operator/desired/auth-secret.js';
import { FULL_SPEC, MINIMAL_SPEC } from '../api/spec-fixtures.js';

export const NAME = 'chat';
export const NAMESPACE = 'prod';
export const UID = '6f1d2a4e-0000-4000-8000-000000000001';

export function cluster(spec: ImGroupClusterSpecInput = MINIMAL_SPEC): ImGroupCluster {
  return {
    apiVersion: 'imgroup.dev/v1alpha1',
    kind: 'ImGroupCluster',
    metadata: { name: NAME, namespace: NAMESPACE, uid: UID, generation: 3 },
    spec: structuredClone(spec),
  };
}

/** The two clusters most tests run over: the minimal spec and one that sets every field. */
export const VARIANTS: [string, ImGroupCluster][] = [
  ['minimal spec', cluster(MINIMAL_SPEC)],
  ['full spec', cluster(FULL_SPEC)],
];

/** Secret values as a user would put them in the Secret (a 32+ byte JWT secret). */
export const SECRET_VALUES: Record<string, string> = {
  [AUTH_SECRET_KEYS.jwtSecret]: 'j'.repeat(40),
  [AUTH_SECRET_KEYS.adminToken]: 'admin-token-value',
  [AUTH_SECRET_KEYS.internalToken]: 'internal-token-value',
  [AUTH_SECRET_KEYS.redisPassword]: 'redis-password-value',
};

/** The env a container gets, references resolved as the kubelet would for pod `podName`. */
export function resolveEnv(env: readonly V1EnvVar[], podName: string, podIp = '10.0.0.7'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') out[e.name] = podName;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'status.podIP') out[e.name] = podIp;
    else if (e.valueFrom?.secretKeyRef) out[e.name] = SECRET_VALUES[e.valueFrom.secretKeyRef.key] as string;
    else throw new Error(`env ${e.name} has no value the test knows how to resolve`);
  }
  return out;
}

export function onlyContainer(containers: V1Container[] | undefined): V1Container {
  if (containers?.length !== 1) throw new Error(`expected one container, got ${containers?.length}`);
  return containers[0] as V1Container;
}
