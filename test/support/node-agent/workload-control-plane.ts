/**
 * A control plane of its own with the real StatefulSet controller (and, if asked, the real
 * kube-scheduler), for tests that need pods and claims made from a StatefulSet's template the way
 * Kubernetes makes them (ordinals, claims `<template>-<pod>`, scale-in from the highest ordinal,
 * claim retention policy). The run's global control plane (test/support/global-control-plane.ts)
 * stays as it is: its other tests rely on no workload controller or scheduler acting behind
 * their backs.
 *
 * Without the scheduler, pair it with a NodeAgent that binds the pods (`bind`); with it, pods
 * go to the Nodes the agents register, as in a real cluster.
 */
import { defaultBinDir, startScheduler } from '../../../hack/k8s/control-plane.mjs';
import { DEFAULT_CONTROLLERS, startTestControlPlane, type TestControlPlane } from '../control-plane.js';

/**
 * The default controllers plus the StatefulSet controller and the claim protection controller,
 * which lifts the `kubernetes.io/pvc-protection` finalizer once no pod uses a claim (without it
 * a claim deleted by a scale-in — persistentVolumeClaimRetentionPolicy whenScaled: Delete —
 * stays Terminating for ever).
 */
export const STATEFULSET_CONTROLLERS: readonly string[] = [...DEFAULT_CONTROLLERS, 'statefulset-controller', 'persistentvolumeclaim-protection-controller'];

/**
 * What a real cluster runs for the whole system, the operator included, as pods (the end-to-end
 * suite): the StatefulSet set, plus Deployment → ReplicaSet → Pod, EndpointSlices for Services
 * (it runs, but the API server refuses the node agent's loopback pod addresses in a slice),
 * the `kube-root-ca.crt` ConfigMap in every namespace (the CA of in-cluster configuration) and
 * the ServiceAccount token controller. Pair it with the scheduler.
 */
export const CLUSTER_CONTROLLERS: readonly string[] = [
  ...STATEFULSET_CONTROLLERS,
  'deployment-controller',
  'replicaset-controller',
  'endpointslice-controller',
  'root-ca-certificate-publisher-controller',
  'serviceaccount-token-controller',
];

export interface WorkloadControlPlaneOptions {
  /** kube-controller-manager controllers. Default STATEFULSET_CONTROLLERS. */
  controllers?: readonly string[];
  /** Also run kube-scheduler. Default false. */
  scheduler?: boolean;
  /** An audit log of every write (TestControlPlane.auditLogPath). Default false. */
  audit?: boolean;
  log?: (line: string) => void;
}

export async function startStatefulSetControlPlane(opts: WorkloadControlPlaneOptions = {}): Promise<TestControlPlane> {
  const cp = await startTestControlPlane({ controllers: opts.controllers ?? STATEFULSET_CONTROLLERS, audit: opts.audit ?? false, ...(opts.log ? { log: opts.log } : {}) });
  if (!opts.scheduler) return cp;
  let scheduler: { stop(): Promise<void> };
  try {
    scheduler = await startScheduler({ dir: cp.dir, binDir: defaultBinDir() });
  } catch (err) {
    await cp.stop();
    throw err;
  }
  return {
    ...cp,
    stop: async () => {
      await scheduler.stop();
      await cp.stop();
    },
  };
}
