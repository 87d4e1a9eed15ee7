/**
 * What a NodeAgent is told (node-agent.ts), every option with its default, and the defaults
 * themselves.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { AddressAllocator } from './address-allocator.js';
import type { RestartBackoff } from './container-runner.js';
import type { RuntimeTable } from './container-runtimes.js';
import type { NodeCapacity } from './node-registration.js';
import type { BindSelector } from './pod-binder.js';

export interface NodeAgentOptions {
  /** Admin kubeconfig path (or a loaded KubeConfig). */
  kubeconfig: string | KubeConfig;
  /** How to run each image (container-runtimes.ts). */
  runtimes: RuntimeTable;
  /** Default `agent-<random>`. */
  nodeName?: string;
  /** Root of claims, pod sandboxes and logs. Default a new temp directory, removed by stop(). Share one between agents so claims follow pods across nodes. */
  dataDir?: string;
  /** Also bind pending pods matching these selectors to this node (no scheduler runs in the tests). */
  bind?: BindSelector | readonly BindSelector[];
  /** Pod addresses. Default one allocator shared by every agent of the process. */
  allocator?: AddressAllocator;
  /** Extra Node labels (kubernetes.io/hostname, os and arch are set). */
  labels?: Record<string, string>;
  /** Node capacity (= allocatable). Default cpu 8, memory 16Gi, ephemeral-storage 100Gi, pods 110. */
  capacity?: Partial<NodeCapacity>;
  /** Full list of the node's pods every … Default 1000 ms (the watch delivers sooner). */
  resyncMs?: number;
  /** Retry of a pod that cannot start yet (missing Secret, claim …). Default 1000 ms. */
  retryMs?: number;
  /** Re-read of configMap/secret/projected volume sources. Default 2000 ms. */
  volumeRefreshMs?: number;
  /** Crash-loop backoff. Default 500 ms doubling to 10000 ms. */
  restartBackoff?: Partial<RestartBackoff>;
  /** Cap on probe periods and initial delays, to make tests faster (default: the spec's). */
  probePeriodCapMs?: number;
  /** Cap on termination grace periods (default: the pod's). */
  maxTerminationGraceMs?: number;
  /** Env every container starts with. Default the host's PATH. */
  hostEnv?: Record<string, string>;
  /** Remove the Node (and its Lease) on stop(). Default true. */
  deleteNodeOnStop?: boolean;
  /** Node Lease renewal period. Default 10000 ms. */
  leaseRenewMs?: number;
  log?: Logger;
}

export interface RestartAllOptions {
  /** Give every pod a new 127.0.0.<x> (status.podIP follows). Default false. */
  newAddresses?: boolean;
  /** SIGTERM grace before SIGKILL. Default each pod's termination grace, at most 10 s; 0 = SIGKILL at once (a power cut). */
  graceMs?: number;
}

export const DEFAULT_CAPACITY: NodeCapacity = { cpu: '8', memory: '16Gi', 'ephemeral-storage': '100Gi', pods: '110' };
/** Every node's InternalIP and every pod's hostIP: the host itself. */
export const HOST_IP = '127.0.0.1';
