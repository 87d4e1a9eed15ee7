/**
 * StatefulSet N-logic: the logic nodes. Their pod names are their member ids in the membership
 * document (keys hash onto ids, so the stable names of a StatefulSet keep routing stable across
 * restarts). Readiness is probed every 2 s: membership follows it.
 */
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { ImGroupCluster } from '../api/v1alpha1.js';
import { clusterContext } from './cluster-context.js';
import { ownedMeta, selectorLabels } from './object-meta.js';
import { LOGIC_INTERNAL_PORT, LOGIC_INTERNAL_PORT_NAME, LOGIC_OPS_PORT } from './ports.js';
import { logicShutdownBudget } from './grace-period.js';
import { logicEnv } from './runtime-env.js';
import { type RuntimeDefaults, runtimePodTemplate } from './runtime-pod.js';
import { SHARED_SECRETS_ANNOTATION } from './secret-rollout.js';

/**
 * `sharedSecretsHash`: the fingerprint of internal-token and redis-password the pods started with
 * (secret-rollout.ts), recorded on the StatefulSet itself, not its pod template: it never rolls.
 */
export function desiredLogicStatefulSet(cluster: ImGroupCluster, defaults: RuntimeDefaults = {}, sharedSecretsHash?: string): V1StatefulSet {
  const ctx = clusterContext(cluster);
  const logic = ctx.spec.logic;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: ownedMeta(ctx, ctx.names.logic, 'logic', sharedSecretsHash !== undefined ? { [SHARED_SECRETS_ANNOTATION]: sharedSecretsHash } : undefined),
    spec: {
      serviceName: ctx.names.logic,
      replicas: logic.replicas,
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: selectorLabels(ctx, 'logic') },
      template: runtimePodTemplate(ctx, {
        component: 'logic',
        defaults,
        env: logicEnv(ctx),
        ports: [
          { name: LOGIC_INTERNAL_PORT_NAME, containerPort: LOGIC_INTERNAL_PORT, protocol: 'TCP' },
          { name: 'ops', containerPort: LOGIC_OPS_PORT, protocol: 'TCP' },
        ],
        resources: logic.resources,
        timing: { readinessPeriodSeconds: 2 },
        terminationGracePeriodSeconds: logicShutdownBudget().terminationGracePeriodSeconds,
      }),
    },
  };
}
