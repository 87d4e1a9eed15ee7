/**
 * The status a kubelet reports for a pod, from its containers' statuses: the phase by the
 * kubelet's own rule (getPhase), podIP/podIPs, hostIP/hostIPs, startTime, containerStatuses and
 * the conditions PodReadyToStartContainers, Initialized, ContainersReady, Ready (and
 * PodScheduled). Written as a strategic merge patch: conditions merge by type (conditions other
 * writers own, e.g. readiness gates, survive) and the IP lists are replaced, so an address change
 * leaves no stale entry.
 */
import { kubeTime } from './agent-api.js';
import type { ContainerStatusJson } from './container-runner.js';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** The kubelet's getPhase for pods without init containers. */
export function podPhase(restartPolicy: string, containers: readonly ContainerStatusJson[]): PodPhase {
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of containers) {
    if (c.state.running) running++;
    else if (c.state.terminated) {
      stopped++;
      if ((c.state.terminated as { exitCode?: number }).exitCode === 0) succeeded++;
    } else if (c.state.waiting) {
      if (c.lastState.terminated) stopped++;
      else waiting++;
    } else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    return restartPolicy === 'Never' ? 'Failed' : 'Running';
  }
  return 'Pending';
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  lastTransitionTime: string;
  lastProbeTime: null;
  /** null removes a reason/message an earlier patch set (strategic merge keeps omitted fields). */
  reason: string | null;
  message: string | null;
}

/** Conditions whose lastTransitionTime moves only when their status changes. */
export class PodConditions {
  private readonly current = new Map<string, Condition>();

  set(type: string, status: boolean, reason?: string, message?: string): void {
    const value = status ? 'True' : 'False';
    const before = this.current.get(type);
    const lastTransitionTime = before && before.status === value ? before.lastTransitionTime : kubeTime();
    this.current.set(type, { type, status: value, lastTransitionTime, lastProbeTime: null, reason: reason ?? null, message: message ?? null });
  }

  list(): Condition[] {
    return [...this.current.values()];
  }
}

export interface PodStatusInput {
  restartPolicy: string;
  podIP: string | null;
  hostIP: string;
  startTime: string;
  containers: readonly ContainerStatusJson[];
  /** Why the pod cannot start yet (volume or config error), shown on the pod. */
  problem: { reason: string; message: string } | null;
}

/** The status patch body (strategic merge patch of `status`). */
export function podStatusPatch(input: PodStatusInput, conditions: PodConditions): Record<string, unknown> {
  const phase = podPhase(input.restartPolicy, input.containers);
  const allReady = input.containers.length > 0 && input.containers.every((c) => c.ready);
  const notReady = input.containers.filter((c) => !c.ready).map((c) => c.name);
  const why = notReady.length > 0 ? { reason: 'ContainersNotReady', message: `containers with unready status: [${notReady.join(' ')}]` } : null;
  conditions.set('PodScheduled', true);
  conditions.set('PodReadyToStartContainers', input.podIP !== null);
  conditions.set('Initialized', true);
  conditions.set('ContainersReady', allReady, why?.reason, why?.message);
  conditions.set('Ready', allReady, why?.reason, why?.message);
  const ips = input.podIP ? [{ $patch: 'replace' }, { ip: input.podIP }] : [{ $patch: 'replace' }];
  return {
    phase,
    hostIP: input.hostIP,
    hostIPs: [{ $patch: 'replace' }, { ip: input.hostIP }],
    podIP: input.podIP,
    podIPs: ips,
    startTime: input.startTime,
    conditions: conditions.list(),
    containerStatuses: input.containers,
    ...(input.problem && phase === 'Pending' ? { reason: input.problem.reason, message: input.problem.message } : { reason: null, message: null }),
  };
}
