/**
 * A control plane of its own with the real StatefulSet controller, for tests that need pods and
 * claims made from a StatefulSet's template the way Kubernetes makes them (ordinals, claims
 * `<template>-<pod>`, scale-in from the highest ordinal, claim retention policy). The run's
 * global control plane (test/support/global-control-plane.ts) stays as it is: its other tests
 * rely on no workload controller creating pods behind their backs.
 *
 * No scheduler runs: pair it with a NodeAgent that binds the StatefulSet's pods (`bind`).
 */
import { DEFAULT_CONTROLLERS, startTestControlPlane, type TestControlPlane } from '../control-plane.js';

/**
 * The default controllers plus the StatefulSet controller and the claim protection controller,
 * which lifts the `kubernetes.io/pvc-protection` finalizer once no pod uses a claim (without it
 * a claim deleted by a scale-in — persistentVolumeClaimRetentionPolicy whenScaled: Delete —
 * stays Terminating for ever).
 */
export const STATEFULSET_CONTROLLERS: readonly string[] = [...DEFAULT_CONTROLLERS, 'statefulset-controller', 'persistentvolumeclaim-protection-controller'];

export function startStatefulSetControlPlane(opts: { controllers?: readonly string[]; log?: (line: string) => void } = {}): Promise<TestControlPlane> {
  return startTestControlPlane({ controllers: opts.controllers ?? STATEFULSET_CONTROLLERS, ...(opts.log ? { log: opts.log } : {}) });
}
