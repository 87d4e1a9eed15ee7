/**
 * Options of `imgroup operator`: every one with its IMGROUP_* variable, flag, default and bounds
 * (runtime/config/options.ts); the README table is generated from them (`make docs`).
 */
import { LOG_LEVELS } from '../runtime/ops/logger.js';
import { DEFAULT_IMAGE } from './api/spec-schema.js';
import { boolOption, intOption, listOption, type OptionValues, stringOption } from '../runtime/config/options.js';

export const OPERATOR_OPTIONS = [
  stringOption({ key: 'kubeconfig', env: 'IMGROUP_KUBECONFIG', flag: 'kubeconfig', doc: 'Path of a kubeconfig file. Default: the in-cluster ServiceAccount configuration.' }),
  stringOption({ key: 'serviceAccountDir', env: 'IMGROUP_SERVICE_ACCOUNT_DIR', flag: 'service-account-dir', doc: 'Directory of the in-cluster ServiceAccount files (`token`, `ca.crt`, `namespace`), used without a kubeconfig. Default: `/var/run/secrets/kubernetes.io/serviceaccount`, where Kubernetes mounts them.' }),
  stringOption({ key: 'namespace', env: 'IMGROUP_OPERATOR_NAMESPACE', flag: 'namespace', doc: 'Watch ImGroupClusters in this namespace only. Default: all namespaces.' }),
  stringOption({ key: 'logLevel', env: 'IMGROUP_LOG_LEVEL', flag: 'log-level', default: 'info', choices: LOG_LEVELS, doc: 'Log level of the JSON logs on stdout.' }),
  stringOption({ key: 'opsHost', env: 'IMGROUP_OPS_HOST', flag: 'ops-host', default: '0.0.0.0', doc: 'Listen address of the ops port (/healthz, /readyz, /metrics).' }),
  intOption({ key: 'opsPort', env: 'IMGROUP_OPS_PORT', flag: 'ops-port', default: 9090, min: 0, max: 65_535, doc: 'Ops port of the operator (0 = any free port).' }),
  stringOption({ key: 'identity', env: 'IMGROUP_OPERATOR_IDENTITY', flag: 'identity', doc: 'This replica\'s identity in the leader Lease. Default: host name and process id.' }),
  stringOption({ key: 'leaseName', env: 'IMGROUP_LEADER_LEASE_NAME', flag: 'leader-lease-name', default: 'imgroup-operator', doc: 'Name of the coordination.k8s.io Lease that elects the acting replica.' }),
  stringOption({ key: 'leaseNamespace', env: 'IMGROUP_LEADER_LEASE_NAMESPACE', flag: 'leader-lease-namespace', doc: 'Namespace of the leader Lease. Default: --namespace, else the pod\'s namespace, else `default`.' }),
  intOption({ key: 'leaseDurationMs', env: 'IMGROUP_LEADER_LEASE_DURATION_MS', flag: 'leader-lease-duration-ms', default: 15_000, min: 1_000, max: 300_000, doc: 'A leader that has not renewed the Lease for this long may be replaced.' }),
  intOption({ key: 'renewDeadlineMs', env: 'IMGROUP_LEADER_RENEW_DEADLINE_MS', flag: 'leader-renew-deadline-ms', default: 10_000, min: 500, max: 300_000, doc: 'A leader that cannot renew for this long stops acting at once and exits 1 (must be below the lease duration).' }),
  intOption({ key: 'retryPeriodMs', env: 'IMGROUP_LEADER_RETRY_PERIOD_MS', flag: 'leader-retry-period-ms', default: 2_000, min: 100, max: 60_000, doc: 'Interval of Lease renewals and acquisition attempts.' }),
  intOption({ key: 'workers', env: 'IMGROUP_OPERATOR_WORKERS', flag: 'workers', default: 2, min: 1, max: 64, doc: 'ImGroupClusters reconciled concurrently.' }),
  intOption({ key: 'resyncMs', env: 'IMGROUP_OPERATOR_RESYNC_MS', flag: 'resync-ms', default: 300_000, min: 1_000, max: 86_400_000, doc: 'Every informer re-lists this often (client-node watches can stall silently) and every cluster is reconciled again.' }),
  intOption({ key: 'stallMs', env: 'IMGROUP_OPERATOR_WATCH_STALL_MS', flag: 'watch-stall-ms', default: 600_000, min: 1_000, max: 86_400_000, doc: 'Watchdog: an informer without any event for this long is restarted.' }),
  stringOption({ key: 'defaultImage', env: 'IMGROUP_OPERATOR_DEFAULT_IMAGE', flag: 'default-image', default: DEFAULT_IMAGE, doc: 'Runtime image of the gate and logic pods of an ImGroupCluster without `spec.image` (the Helm chart sets its image values here; changing it rolls those pods).' }),
  boolOption({ key: 'redisLifecycle', env: 'IMGROUP_OPERATOR_REDIS_LIFECYCLE', flag: 'redis-lifecycle', default: true, doc: 'Form, repair and scale the Redis Cluster inside N-redis (false: only apply its StatefulSet; for a Redis managed elsewhere).' }),
  intOption({ key: 'redisStepBudgetMs', env: 'IMGROUP_OPERATOR_REDIS_STEP_BUDGET_MS', flag: 'redis-step-budget-ms', default: 2000, min: 100, max: 600_000, doc: 'No new slot move starts after this long into one reconcile (a migration goes on in the next; membership updates of the same cluster wait for a step).' }),
  intOption({ key: 'redisSlotsPerStep', env: 'IMGROUP_OPERATOR_REDIS_SLOTS_PER_STEP', flag: 'redis-slots-per-step', default: 64, min: 1, max: 16_384, doc: 'Hash slots moved per reconcile at most while scaling Redis masters out or in.' }),
  boolOption({ key: 'networkPolicies', env: 'IMGROUP_OPERATOR_NETWORK_POLICIES', flag: 'network-policies', default: true, doc: 'Make the NetworkPolicies of every ImGroupCluster whose `spec.networkPolicy.enabled` is true, and delete them when it is false (false: the operator neither makes, watches nor deletes NetworkPolicies; for a network plugin without NetworkPolicy support).' }),
  stringOption({ key: 'podNamespace', env: 'IMGROUP_OPERATOR_POD_NAMESPACE', flag: 'pod-namespace', doc: 'Namespace of the operator\'s own pods (the chart sets it from the downward API): the Redis NetworkPolicies admit the operator from there. Needs --pod-labels. Default: none (an operator outside the cluster).' }),
  listOption({ key: 'podLabels', env: 'IMGROUP_OPERATOR_POD_LABELS', flag: 'pod-labels', doc: 'Labels of the operator\'s own pods, `key=value,…` (the chart sets its selector labels): the Redis NetworkPolicies admit pods with these labels in --pod-namespace.' }),
  intOption({ key: 'requestTimeoutMs', env: 'IMGROUP_KUBE_REQUEST_TIMEOUT_MS', flag: 'kube-request-timeout-ms', default: 30_000, min: 1_000, max: 600_000, doc: 'Deadline of every Kubernetes API request (not watches): a request on a connection gone silent fails and is retried instead of hanging a worker.' }),
] as const;

/** The operator's options, typed from OPERATOR_OPTIONS. */
export type OperatorOptions = OptionValues<typeof OPERATOR_OPTIONS>;
