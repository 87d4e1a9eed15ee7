/**
 * The node agent's door to the API server: the few reads and writes a kubelet makes (pod status
 * through the status subresource, the final delete with grace period 0, Bindings, Secrets,
 * ConfigMaps, claims, ServiceAccount tokens), with NotFound as `null` instead of an exception.
 * Kubernetes times are written as strings of their own format (Time: whole seconds; MicroTime:
 * exactly six fractional digits, which the API server insists on).
 */
import {
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import { isNotFound } from '../../../operator/reconcile/api-errors.js';

export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const STRATEGIC_MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** metav1.Time: RFC 3339 in whole seconds, as the kubelet writes it. */
export function kubeTime(at: Date = new Date()): string {
  return at.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** metav1.MicroTime as a Date that serializes with six fractional digits (Lease renewTime). */
export function microTime(at: Date = new Date()): Date {
  const d = new Date(at.getTime());
  const iso = d.toISOString();
  d.toISOString = () => iso.replace(/\.(\d{3})Z$/, '.$1000Z');
  return d;
}

async function orNull<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export class AgentApi {
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;

  constructor(readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
  }

  /** PEM of the cluster CA from the kubeconfig (for `kube-root-ca.crt` when no controller publishes it). */
  clusterCaPem(): string | null {
    const cluster = this.kc.getCurrentCluster();
    if (cluster?.caData) return Buffer.from(cluster.caData, 'base64').toString('utf8');
    return null;
  }

  readSecret(namespace: string, name: string): Promise<V1Secret | null> {
    return orNull(this.core.readNamespacedSecret({ namespace, name }));
  }

  readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | null> {
    return orNull(this.core.readNamespacedConfigMap({ namespace, name }));
  }

  readClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | null> {
    return orNull(this.core.readNamespacedPersistentVolumeClaim({ namespace, name }));
  }

  readPod(namespace: string, name: string): Promise<V1Pod | null> {
    return orNull(this.core.readNamespacedPod({ namespace, name }));
  }

  /** Patch the pod's status (strategic merge patch on the status subresource); false when the pod is gone. */
  async patchPodStatus(namespace: string, name: string, uid: string, status: Record<string, unknown>): Promise<boolean> {
    const body = { metadata: { uid }, status };
    const res = await orNull(this.core.patchNamespacedPodStatus({ namespace, name, body }, STRATEGIC_MERGE_PATCH));
    return res !== null;
  }

  /** The kubelet's last word on a terminated pod: delete it now, only if it is still the same pod. */
  async deletePodNow(namespace: string, name: string, uid: string): Promise<void> {
    // With a body, the API server reads the options from the body only (query parameters are ignored).
    await orNull(this.core.deleteNamespacedPod({ namespace, name, body: { gracePeriodSeconds: 0, preconditions: { uid } } }));
  }

  /** POST pods/binding, as a scheduler does. */
  async bindPod(namespace: string, name: string, uid: string | undefined, nodeName: string): Promise<void> {
    await this.core.createNamespacedPodBinding({
      namespace,
      name,
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, ...(uid ? { uid } : {}) }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } },
    });
  }

  /** A ServiceAccount token bound to the pod (TokenRequest), for projected serviceAccountToken volumes. */
  async podToken(pod: V1Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const res = await this.core.createNamespacedServiceAccountToken({
      namespace,
      name: pod.spec?.serviceAccountName ?? 'default',
      body: {
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds: Math.max(600, expirationSeconds),
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
        },
      },
    });
    const token = res.status?.token;
    if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${pod.spec?.serviceAccountName ?? 'default'} returned no token`);
    return token;
  }
}
