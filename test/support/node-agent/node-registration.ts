/**
 * The agent's Node object, kept like a kubelet keeps it: registered with its labels, capacity,
 * allocatable, addresses and node info, the Ready condition True (and no pressure), its status
 * re-posted every `statusMs`, and a Lease `kube-node-lease/<node>` (owned by the Node) renewed
 * every `leaseRenewMs` — the heartbeat a node lifecycle controller and a scheduler look at.
 * No taints, so a real kube-scheduler may place pods on it.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isConflict, isNotFound } from '../../../operator/reconcile/api-errors.js';
import { type AgentApi, kubeTime, MERGE_PATCH, microTime } from './agent-api.js';
import type { NodeAllocatable } from './container-env.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const CONDITION_TAINTS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

export interface NodeCapacity extends NodeAllocatable {
  pods: string;
}

export interface NodeRegistrationOptions {
  api: AgentApi;
  nodeName: string;
  labels: Record<string, string>;
  capacity: NodeCapacity;
  hostIP: string;
  kubeletVersion: string;
  /** Default 40 (the kubelet's). */
  leaseDurationSeconds?: number;
  /** Default 10000 ms (a quarter of the lease, like the kubelet). */
  leaseRenewMs?: number;
  /** Default 60000 ms. */
  statusMs?: number;
  log: Logger;
}

export class NodeRegistration {
  private timers: NodeJS.Timeout[] = [];
  private nodeUid = '';
  private readonly transitionTime = kubeTime();

  constructor(private readonly opts: NodeRegistrationOptions) {}

  get name(): string {
    return this.opts.nodeName;
  }

  async start(): Promise<void> {
    const { api, nodeName } = this.opts;
    const body: V1Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName, labels: this.opts.labels }, spec: {} };
    try {
      const created = await api.core.createNode({ body });
      this.nodeUid = created.metadata?.uid ?? '';
    } catch (err) {
      if (!isConflict(err)) throw err;
      const existing = await api.core.readNode({ name: nodeName });
      this.nodeUid = existing.metadata?.uid ?? '';
      await api.core.patchNode({ name: nodeName, body: { metadata: { labels: this.opts.labels } } }, MERGE_PATCH);
    }
    await this.postStatus();
    await this.renewLease();
    const renew = setInterval(() => void this.renewLease().catch((err: unknown) => this.opts.log.warn({ err, node: nodeName }, 'node lease renewal failed')), this.opts.leaseRenewMs ?? 10_000);
    const status = setInterval(() => void this.postStatus().catch((err: unknown) => this.opts.log.warn({ err, node: nodeName }, 'node status update failed')), this.opts.statusMs ?? 60_000);
    renew.unref();
    status.unref();
    this.timers = [renew, status];
  }

  /** Stop the heartbeats; with `deleteNode`, remove the Node (its Lease goes with it by owner reference, and is deleted too). */
  async stop(opts: { deleteNode: boolean }): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (!opts.deleteNode) return;
    const { api, nodeName } = this.opts;
    for (const remove of [
      () => api.coordination.deleteNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, name: nodeName }),
      () => api.core.deleteNode({ name: nodeName }),
    ]) {
      try {
        await remove();
      } catch (err) {
        if (!isNotFound(err)) this.opts.log.warn({ err, node: nodeName }, 'node cleanup failed');
      }
    }
  }

  private async postStatus(): Promise<void> {
    const now = kubeTime();
    const { capacity, hostIP, nodeName } = this.opts;
    const condition = (type: string, status: 'True' | 'False', reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: this.transitionTime });
    const status = {
      capacity: { ...capacity },
      allocatable: { ...capacity },
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'the test node agent is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: hostIP },
        { type: 'Hostname', address: nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: this.nodeUid.replace(/-/g, ''),
        systemUUID: this.nodeUid,
        bootID: this.nodeUid,
        kernelVersion: 'test',
        osImage: 'imgroup test node agent',
        containerRuntimeVersion: 'local://processes',
        kubeletVersion: this.opts.kubeletVersion,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: this.opts.labels['kubernetes.io/arch'] ?? 'amd64',
      },
    };
    await this.opts.api.core.patchNodeStatus({ name: nodeName, body: { status } }, MERGE_PATCH);
    await this.clearConditionTaints();
  }

  /**
   * The API server taints a new Node `node.kubernetes.io/not-ready:NoSchedule`, and the node
   * lifecycle controller lifts it once the Node is Ready. The test control planes run no such
   * controller, so the agent lifts it (and `unreachable`) itself — else no scheduler would place
   * a pod here.
   */
  private async clearConditionTaints(): Promise<void> {
    const node = await this.opts.api.core.readNode({ name: this.opts.nodeName });
    const taints = node.spec?.taints ?? [];
    const kept = taints.filter((t) => !CONDITION_TAINTS.includes(t.key));
    if (kept.length === taints.length) return;
    const body = { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints: kept.map((t) => ({ key: t.key, effect: t.effect, ...(t.value ? { value: t.value } : {}) })) } };
    try {
      await this.opts.api.core.patchNode({ name: this.opts.nodeName, body }, MERGE_PATCH);
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  private async renewLease(): Promise<void> {
    const { api, nodeName } = this.opts;
    const spec = { holderIdentity: nodeName, leaseDurationSeconds: this.opts.leaseDurationSeconds ?? 40, renewTime: microTime() };
    try {
      const lease = await api.coordination.readNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, name: nodeName });
      lease.spec = { ...lease.spec, ...spec };
      await api.coordination.replaceNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, name: nodeName, body: lease });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await api.coordination.createNamespacedLease({
        namespace: NODE_LEASE_NAMESPACE,
        body: {
          metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: this.nodeUid }] },
          spec,
        },
      });
    }
  }
}
