/**
 * Security settings of every pod the operator creates: a fixed non-root user (65532, the
 * runtime image's user), no privilege escalation, no capabilities, a read-only root filesystem
 * (writable paths are volumes), the runtime's default seccomp profile.
 */
import type { V1Affinity, V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';

export const RUN_AS_USER = 65532;

export function podSecurityContext(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS_USER,
    runAsGroup: RUN_AS_USER,
    fsGroup: RUN_AS_USER,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function containerSecurityContext(): V1SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS_USER,
    runAsGroup: RUN_AS_USER,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
  };
}

/** Prefer spreading a tier's pods over nodes (a node failure then takes one of them). */
export function spreadOverNodes(selector: Record<string, string>): V1Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { ...selector } } } },
      ],
    },
  };
}
