/**
 * vitest globalSetup of the `e2e` project (`make e2e`): one real control plane for the whole run
 * with what a cluster runs for workloads — kube-controller-manager with the StatefulSet,
 * Deployment/ReplicaSet, garbage-collector, EndpointSlice, root-CA publisher and ServiceAccount
 * controllers (CLUSTER_CONTROLLERS), kube-scheduler, and an audit log of every write (who wrote
 * what: the operator must act as its ServiceAccount). No kubelet: each test file starts a test
 * node agent (test/support/node-agent) that runs the pods the scheduler places on its Node.
 *
 * Tests read `inject('kubeconfig')` (admin: the test plays the user with kubectl and helm, never
 * the operator) and `inject('auditLog')`, and work in namespaces of their own.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureControlPlaneBinaries } from '../control-plane.js';
import { CLUSTER_CONTROLLERS, startStatefulSetControlPlane } from '../node-agent/workload-control-plane.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    auditLog: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => console.error(`[e2e control-plane] ${line}`);
  // Pods run `node bin/imgroup.js`, which runs the build (make e2e builds first).
  const built = join(process.cwd(), 'dist', 'runtime', 'cli', 'main.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: the pods run the build; run \`make build\` (make e2e does) first`);
  await ensureControlPlaneBinaries(log);
  const cp = await startStatefulSetControlPlane({ controllers: CLUSTER_CONTROLLERS, scheduler: true, audit: true });
  log(`kube-apiserver at ${cp.server}, kubeconfig ${cp.kubeconfigPath}, audit log ${cp.auditLogPath}`);
  project.provide('kubeconfig', cp.kubeconfigPath);
  project.provide('auditLog', cp.auditLogPath as string);
  return async () => {
    await cp.stop();
  };
}
