/**
 * vitest globalSetup of the operator project: one real Kubernetes control plane for the whole
 * run (see control-plane.ts), built first when its binaries are missing. Tests read its admin
 * kubeconfig with `inject('kubeconfig')` and must work in namespaces of their own (random
 * names), since every operator test file shares it.
 */
import type { TestProject } from 'vitest/node';
import { ensureControlPlaneBinaries, startTestControlPlane } from './control-plane.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string) => console.error(`[control-plane] ${line}`);
  await ensureControlPlaneBinaries(log);
  const cp = await startTestControlPlane();
  log(`kube-apiserver at ${cp.server}, kubeconfig ${cp.kubeconfigPath}`);
  project.provide('kubeconfig', cp.kubeconfigPath);
  return async () => {
    await cp.stop();
  };
}
