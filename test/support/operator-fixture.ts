/**
 * What the operator's integration tests share: API clients from the run's admin kubeconfig, the
 * ImGroupCluster CRD installed (server-side apply, idempotent across test files) and established,
 * fresh namespaces (with their `default` ServiceAccount, so Pods can be created), a quiet logger,
 * and `eventually` for polling the API.
 */
import { randomBytes } from 'node:crypto';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  type V1Pod,
} from '@kubernetes/client-node';
import pino from 'pino';
import type { OperatorOptions } from '../../operator/operator-options.js';
import { imGroupClusterCrd } from '../../operator/api/crd.js';
import { DEFAULT_IMAGE } from '../../operator/api/spec-schema.js';
import { CRD_NAME } from '../../operator/api/v1alpha1.js';
import { LOG_LEVELS } from '../../runtime/ops/logger.js';
import { apiRequest, readKubeconfigAuth } from './control-plane.js';
import { eventually } from './eventually.js';

export { eventually };
import { APP_NAME, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME } from '../../operator/desired/object-meta.js';

export interface KubeClients {
  kubeconfigPath: string;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
  objects: KubernetesObjectApi;
}

export function kubeClients(kubeconfigPath: string): KubeClients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kubeconfigPath,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    coordination: kc.makeApiClient(CoordinationV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

export const quietLogger = () => pino({ level: process.env.IMGROUP_TEST_LOG_LEVEL ?? 'silent' });

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function installCrd(k: KubeClients): Promise<void> {
  // Raw JSON: the typed client's serializer would drop `x-kubernetes-*` keys of the schema.
  const auth = readKubeconfigAuth(k.kubeconfigPath);
  const res = await apiRequest(auth, 'PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}?fieldManager=imgroup-tests&force=true`, imGroupClusterCrd(), {
    contentType: 'application/apply-patch+yaml',
  });
  if (res.status >= 300) throw new Error(`CRD not applied: ${res.status} ${JSON.stringify(res.body)}`);
  const ext = k.kc.makeApiClient(ApiextensionsV1Api);
  await eventually('CRD established', async () => {
    const got = await ext.readCustomResourceDefinition({ name: CRD_NAME });
    return (got.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
  });
}

export async function createNamespace(k: KubeClients, prefix = 'op'): Promise<string> {
  const name = uniqueName(prefix);
  await k.core.createNamespace({ body: { metadata: { name } } });
  await eventually(`ServiceAccount default in ${name}`, async () => {
    try {
      await k.core.readNamespacedServiceAccount({ namespace: name, name: 'default' });
      return true;
    } catch {
      return false;
    }
  });
  return name;
}

/** A logic Pod as the StatefulSet N-logic would create it (no kubelet runs: it stays Pending). */
/** A Redis Pod object of the cluster as the StatefulSet would name it (nothing runs it). */
export async function createRedisPod(k: KubeClients, namespace: string, cluster: string, ordinal: number): Promise<V1Pod> {
  return k.core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: `${cluster}-redis-${ordinal}`, labels: { [LABEL_NAME]: APP_NAME, [LABEL_INSTANCE]: cluster, [LABEL_COMPONENT]: 'redis' } },
      spec: { automountServiceAccountToken: false, containers: [{ name: 'redis', image: 'redis:7.2' }] },
    },
  });
}

/** A logic Pod object as the StatefulSet would create it; `internalPort` is the container port `internal` it declares. */
export async function createLogicPod(k: KubeClients, namespace: string, cluster: string, ordinal: number, internalPort?: number): Promise<V1Pod> {
  const ports = internalPort === undefined ? {} : { ports: [{ name: 'internal', containerPort: internalPort, protocol: 'TCP' }] };
  return k.core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: `${cluster}-logic-${ordinal}`, labels: { [LABEL_NAME]: APP_NAME, [LABEL_INSTANCE]: cluster, [LABEL_COMPONENT]: 'logic' } },
      spec: { automountServiceAccountToken: false, containers: [{ name: 'logic', image: 'ghcr.io/imgroup/imgroup:0.1.0', ...ports }] },
    },
  });
}

/** Set a pod's IP and Ready condition through the status subresource, as a kubelet would. */
export async function setPodReady(k: KubeClients, namespace: string, name: string, ip: string, ready: boolean): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const pod = await k.core.readNamespacedPod({ namespace, name });
    const now = new Date();
    pod.status = {
      ...(pod.status ?? {}),
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }],
    };
    try {
      await k.core.replaceNamespacedPodStatus({ namespace, name, body: pod });
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt > 5) throw err;
    }
  }
}

/**
 * Options of an in-process `startOperator` for tests: loopback ops port, quiet logs, and the
 * default Lease timing (15 s, renew deadline 10 s) with frequent retries. A leader that misses its
 * renew deadline stops for good (as `imgroup operator`, which then exits), so the deadline must
 * survive a busy machine; handovers in tests go through a graceful stop, which releases the Lease.
 */
export function operatorTestOptions(kubeconfig: string, namespace: string, identity: string, overrides: Partial<OperatorOptions> = {}): OperatorOptions {
  return {
    kubeconfig,
    namespace,
    logLevel: LOG_LEVELS.find((level) => level === process.env.IMGROUP_TEST_LOG_LEVEL) ?? 'silent',
    opsHost: '127.0.0.1',
    opsPort: 0,
    identity,
    leaseName: 'imgroup-operator',
    leaseNamespace: undefined,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 500,
    workers: 2,
    resyncMs: 60_000,
    stallMs: 60_000,
    requestTimeoutMs: 10_000,
    defaultImage: DEFAULT_IMAGE,
    redisLifecycle: true,
    redisStepBudgetMs: 2000,
    redisSlotsPerStep: 64,
    networkPolicies: true,
    ...overrides,
  };
}
