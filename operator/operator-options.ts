/**
 * Options of `imgroup operator`: every one with its IMGROUP_* variable, flag, default and bounds
 * (runtime/config/options.ts); the README table is generated from them (`make docs`).
 */
import { LOG_LEVELS } from '../runtime/ops/logger.js';
import { DEFAULT_IMAGE } from './api/spec-schema.js';
import type { OptionSpec } from '../runtime/config/options.js';

export const OPERATOR_OPTIONS: readonly OptionSpec[] = [
  { key: 'kubeconfig', env: 'IMGROUP_KUBECONFIG', flag: 'kubeconfig', kind: 'string', doc: 'Path of a kubeconfig file. Default: the in-cluster ServiceAccount configuration.' },
  { key: 'serviceAccountDir', env: 'IMGROUP_SERVICE_ACCOUNT_DIR', flag: 'service-account-dir', kind: 'string', doc: 'Directory of the in-cluster ServiceAccount files (`token`, `ca.crt`, `namespace`), used without a kubeconfig. Default: `/var/run/secrets/kubernetes.io/serviceaccount`, where Kubernetes mounts them.' },
  { key: 'namespace', env: 'IMGROUP_OPERATOR_NAMESPACE', flag: 'namespace', kind: 'string', doc: 'Watch ImGroupClusters in this namespace only. Default: all namespaces.' },
  { key: 'logLevel', env: 'IMGROUP_LOG_LEVEL', flag: 'log-level', kind: 'string', default: 'info', choices: LOG_LEVELS, doc: 'Log level of the JSON logs on stdout.' },
  { key: 'opsHost', env: 'IMGROUP_OPS_HOST', flag: 'ops-host', kind: 'string', default: '0.0.0.0', doc: 'Listen address of the ops port (/healthz, /readyz, /metrics).' },
  { key: 'opsPort', env: 'IMGROUP_OPS_PORT', flag: 'ops-port', kind: 'int', default: 9090, min: 0, max: 65_535, doc: 'Ops port of the operator (0 = any free port).' },
  { key: 'identity', env: 'IMGROUP_OPERATOR_IDENTITY', flag: 'identity', kind: 'string', doc: 'This replica\'s identity in the leader Lease. Default: host name and process id.' },
  { key: 'leaseName', env: 'IMGROUP_LEADER_LEASE_NAME', flag: 'leader-lease-name', kind: 'string', default: 'imgroup-operator', doc: 'Name of the coordination.k8s.io Lease that elects the acting replica.' },
  { key: 'leaseNamespace', env: 'IMGROUP_LEADER_LEASE_NAMESPACE', flag: 'leader-lease-namespace', kind: 'string', doc: 'Namespace of the leader Lease. Default: --namespace, else the pod\'s namespace, else `default`.' },
  { key: 'leaseDurationMs', env: 'IMGROUP_LEADER_LEASE_DURATION_MS', flag: 'leader-lease-duration-ms', kind: 'int', default: 15_000, min: 1_000, max: 300_000, doc: 'A leader that has not renewed the Lease for this long may be replaced.' },
  { key: 'renewDeadlineMs', env: 'IMGROUP_LEADER_RENEW_DEADLINE_MS', flag: 'leader-renew-deadline-ms', kind: 'int', default: 10_000, min: 500, max: 300_000, doc: 'A leader that cannot renew for this long stops acting at once and exits 1 (must be below the lease duration).' },
  { key: 'retryPeriodMs', env: 'IMGROUP_LEADER_RETRY_PERIOD_MS', flag: 'leader-retry-period-ms', kind: 'int', default: 2_000, min: 100, max: 60_000, doc: 'Interval of Lease renewals and acquisition attempts.' },
  { key: 'workers', env: 'IMGROUP_OPERATOR_WORKERS', flag: 'workers', kind: 'int', default: 2, min: 1, max: 64, doc: 'ImGroupClusters reconciled concurrently.' },
  { key: 'resyncMs', env: 'IMGROUP_OPERATOR_RESYNC_MS', flag: 'resync-ms', kind: 'int', default: 300_000, min: 1_000, max: 86_400_000, doc: 'Every informer re-lists this often (client-node watches can stall silently) and every cluster is reconciled again.' },
  { key: 'stallMs', env: 'IMGROUP_OPERATOR_WATCH_STALL_MS', flag: 'watch-stall-ms', kind: 'int', default: 600_000, min: 1_000, max: 86_400_000, doc: 'Watchdog: an informer without any event for this long is restarted.' },
  { key: 'defaultImage', env: 'IMGROUP_OPERATOR_DEFAULT_IMAGE', flag: 'default-image', kind: 'string', default: DEFAULT_IMAGE, doc: 'Runtime image of the gate and logic pods of an ImGroupCluster without `spec.image` (the Helm chart sets its image values here; changing it rolls those pods).' },
  { key: 'redisLifecycle', env: 'IMGROUP_OPERATOR_REDIS_LIFECYCLE', flag: 'redis-lifecycle', kind: 'bool', default: true, doc: 'Form, repair and scale the Redis Cluster inside N-redis (false: only apply its StatefulSet; for a Redis managed elsewhere).' },
  { key: 'redisStepBudgetMs', env: 'IMGROUP_OPERATOR_REDIS_STEP_BUDGET_MS', flag: 'redis-step-budget-ms', kind: 'int', default: 2000, min: 100, max: 600_000, doc: 'No new slot move starts after this long into one reconcile (a migration goes on in the next; membership updates of the same cluster wait for a step).' },
  { key: 'redisSlotsPerStep', env: 'IMGROUP_OPERATOR_REDIS_SLOTS_PER_STEP', flag: 'redis-slots-per-step', kind: 'int', default: 64, min: 1, max: 16_384, doc: 'Hash slots moved per reconcile at most while scaling Redis masters out or in.' },
  { key: 'requestTimeoutMs', env: 'IMGROUP_KUBE_REQUEST_TIMEOUT_MS', flag: 'kube-request-timeout-ms', kind: 'int', default: 30_000, min: 1_000, max: 600_000, doc: 'Deadline of every Kubernetes API request (not watches): a request on a connection gone silent fails and is retried instead of hanging a worker.' },
];

export interface OperatorOptions {
  kubeconfig: string | undefined;
  /** Undefined: DEFAULT_SERVICE_ACCOUNT_DIR. */
  serviceAccountDir?: string | undefined;
  namespace: string | undefined;
  logLevel: string;
  opsHost: string;
  opsPort: number;
  identity: string | undefined;
  leaseName: string;
  leaseNamespace: string | undefined;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  workers: number;
  resyncMs: number;
  stallMs: number;
  requestTimeoutMs: number;
  defaultImage: string;
  redisLifecycle: boolean;
  redisStepBudgetMs: number;
  redisSlotsPerStep: number;
}
