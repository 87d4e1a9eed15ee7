/**
 * StatefulSet N-gate: the gates, with stable pod names (their node names in presence). Pods start
 * in parallel; each mounts N-membership and runs with the ServiceAccount N-gate, which may read
 * that ConfigMap and nothing else.
 */
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { ImGroupCluster } from '../api/v1alpha1.js';
import { clusterContext } from './cluster-context.js';
import { ownedMeta, selectorLabels } from './object-meta.js';
import { GATE_CLIENT_PORT, GATE_OPS_PORT } from './ports.js';
import { gateShutdownBudget } from './grace-period.js';
import { gateEnv, MEMBERSHIP_KEY, MEMBERSHIP_MOUNT_DIR } from './runtime-env.js';
import { type RuntimeDefaults, runtimePodTemplate } from './runtime-pod.js';
import { GATE_SECRETS_ANNOTATION } from './secret-rollout.js';

export const MEMBERSHIP_VOLUME = 'membership';

/**
 * `gateSecretsHash`: the fingerprint of the gates' own secrets (secret-rollout.ts) as a pod
 * template annotation, so an edit of jwt-secret or admin-token rolls the gates.
 */
export function desiredGateStatefulSet(cluster: ImGroupCluster, defaults: RuntimeDefaults = {}, gateSecretsHash?: string): V1StatefulSet {
  const ctx = clusterContext(cluster);
  const gate = ctx.spec.gate;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: ownedMeta(ctx, ctx.names.gate, 'gate'),
    spec: {
      serviceName: ctx.names.gate,
      replicas: gate.replicas,
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: selectorLabels(ctx, 'gate') },
      template: runtimePodTemplate(ctx, {
        component: 'gate',
        defaults,
        env: gateEnv(ctx),
        ports: [
          { name: 'client', containerPort: GATE_CLIENT_PORT, protocol: 'TCP' },
          { name: 'ops', containerPort: GATE_OPS_PORT, protocol: 'TCP' },
        ],
        resources: gate.resources,
        timing: { readinessPeriodSeconds: 5 },
        serviceAccountName: ctx.names.gateAccess,
        terminationGracePeriodSeconds: gateShutdownBudget(gate.drainWindowMs).terminationGracePeriodSeconds,
        ...(gateSecretsHash !== undefined ? { annotations: { [GATE_SECRETS_ANNOTATION]: gateSecretsHash } } : {}),
        volumes: [
          {
            // optional: a gate starts (and waits for members) even before the operator wrote it.
            volume: { name: MEMBERSHIP_VOLUME, configMap: { name: ctx.names.membership, optional: true, items: [{ key: MEMBERSHIP_KEY, path: MEMBERSHIP_KEY }] } },
            mount: { name: MEMBERSHIP_VOLUME, mountPath: MEMBERSHIP_MOUNT_DIR, readOnly: true },
          },
        ],
      }),
    },
  };
}
