/**
 * From a container of a pod to the process to start, the kubelet's way: the env resolved
 * (container-env.ts), the image's runtime found in the table (container-runtimes.ts),
 * `$(VAR)` references in command and args expanded with the container's env, mount paths in
 * args, env and workingDir rewritten to host directories (mount-table.ts), the `kubernetes`
 * Service variables (kubernetes-service.ts), pod DNS for node programs (pod-dns.ts), and what
 * the probes need (pod IP, ports, env).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { expandEnvReferences } from '../../../operator/desired/env-references.js';
import { ContainerConfigError, type EnvSources, type NodeAllocatable, resolveContainerEnv } from './container-env.js';
import type { ContainerLaunchSpec } from './container-runner.js';
import { findRuntime, type RuntimeTable } from './container-runtimes.js';
import { MountTable } from './mount-table.js';
import { podDnsEnv } from './pod-dns.js';
import type { PreparedVolume } from './pod-volumes.js';

export interface LaunchInputs {
  pod: V1Pod;
  container: V1Container;
  podIP: string;
  hostIP: string;
  volumes: readonly PreparedVolume[];
  sources: EnvSources;
  runtimes: RuntimeTable;
  allocatable: NodeAllocatable;
  /** Env every container starts with (PATH of the host). */
  baseEnv: Readonly<Record<string, string>>;
  /** The kubelet's `kubernetes` Service variables (kubernetes-service.ts); the container's own env wins. */
  serviceEnv: Readonly<Record<string, string>>;
  /** The pod's sandbox directory; a container's default working directory is below it. */
  podDir: string;
  /** Where the agents keep their pod hosts files (pod-dns.ts). */
  podHostsDir: string;
}

/** The image has no entry in the runtime table: shown like a failed pull. */
export class NoRuntimeError extends ContainerConfigError {}

export async function containerLaunch(i: LaunchInputs): Promise<ContainerLaunchSpec> {
  const image = i.container.image ?? '';
  const runtime = findRuntime(i.runtimes, image);
  if (!runtime) throw new NoRuntimeError(`the test node agent has no runtime for image ${JSON.stringify(image)} (container ${i.container.name})`);
  const podEnv = await resolveContainerEnv(i.pod, i.container, { podIP: i.podIP, hostIP: i.hostIP }, i.sources, i.allocatable);
  const mounts = MountTable.forContainer(i.container, i.volumes, podEnv);
  const expand = (list: string[] | undefined) => list?.map((part) => mounts.rewrite(expandEnvReferences(part, podEnv)));
  const env = Object.fromEntries(Object.entries(podEnv).map(([k, v]) => [k, mounts.rewrite(v)]));
  const launch = runtime.launch({
    pod: i.pod,
    container: i.container,
    podIP: i.podIP,
    env,
    command: expand(i.container.command),
    args: expand(i.container.args),
    hostPathOf: (path) => mounts.hostPathOf(path),
  });
  const hostname = i.pod.spec?.hostname ?? i.pod.metadata?.name ?? '';
  const fullEnv: Record<string, string> = { ...i.baseEnv, HOSTNAME: hostname, ...(launch.env ?? {}), ...i.serviceEnv, ...env };
  if (launch.podDns) Object.assign(fullEnv, podDnsEnv(i.podHostsDir, fullEnv.NODE_OPTIONS));
  const workingDir = i.container.workingDir ? mounts.hostPathOf(i.container.workingDir) : null;
  const cwd = workingDir ?? join(i.podDir, 'containers', i.container.name);
  mkdirSync(cwd, { recursive: true });
  return {
    command: launch.command,
    args: launch.args,
    env: fullEnv,
    cwd,
    ipcLifeline: launch.ipcLifeline ?? false,
    dieWithAgent: launch.dieWithAgent ?? !launch.ipcLifeline,
    probeTarget: { podIP: i.podIP, ports: i.container.ports ?? [], env: fullEnv, cwd },
  };
}
