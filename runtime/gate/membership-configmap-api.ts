/**
 * The two API calls the ConfigMap membership source makes, through @kubernetes/client-node: a
 * list and a watch of `/api/v1/namespaces/<ns>/configmaps`, both with
 * `fieldSelector=metadata.name=<name>` — the gate's Role grants get/list/watch on that one name
 * only, so a request without the selector is forbidden.
 *
 * The KubeConfig is the pod's in-cluster ServiceAccount (token re-read from its projected file)
 * or a kubeconfig file (IMGROUP_KUBECONFIG), as a DeadlineKubeConfig: client-node's list has no
 * deadline of its own, so every API request carries one; its watch has none either, which the
 * source's watchdog covers.
 */
import { CoreV1Api, type KubeConfig, Watch } from '@kubernetes/client-node';
import { type DeadlineKubeConfig, loadKubeConfig } from '../kube/kube-config.js';
import { type ConfigMapRef, nameFieldSelector } from './membership-configmap-ref.js';

export interface ConfigMapListResult {
  /** resourceVersion of the list: where the watch resumes. */
  resourceVersion: string | undefined;
  items: readonly unknown[];
}

/** `type` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR; `object` is the raw JSON object. */
export type WatchEventHandler = (type: string, object: unknown) => void;

/** What the source needs from the API; the client-node implementation is below. */
export interface ConfigMapWatchApi {
  /** One list with the field selector. Rejects on any failure (HTTP status in `code`/`statusCode`). */
  list(): Promise<ConfigMapListResult>;
  /**
   * Watch from `resourceVersion` (bookmarks on). Resolves with a stop function once the API server
   * answered; `onDone` is called once when the watch ends (null: closed by the server).
   */
  watch(resourceVersion: string, onEvent: WatchEventHandler, onDone: (err: unknown) => void): Promise<() => void>;
}

export interface KubeConfigMapApiOptions {
  /** The API server ends a watch after this many seconds; the source resumes it from its resourceVersion. */
  watchTimeoutSeconds: () => number;
}

/**
 * KubeConfig of the gate: a kubeconfig file when `path` is given, else the in-cluster
 * ServiceAccount; every API request (not watches) fails after `requestTimeoutMs`. Throws
 * ConfigError naming the setting when neither yields an API server.
 */
export function loadGateKubeConfig(path: string | undefined, requestTimeoutMs: number, serviceAccountDir?: string): DeadlineKubeConfig {
  return loadKubeConfig({
    kubeconfig: path,
    serviceAccountDir,
    requestTimeoutMs,
    outsidePodHint: 'IMGROUP_MEMBERSHIP_CONFIGMAP needs the API: set IMGROUP_KUBECONFIG (or --kubeconfig), or use IMGROUP_MEMBERSHIP_FILE',
  });
}

export class KubeConfigMapApi implements ConfigMapWatchApi {
  private readonly core: CoreV1Api;
  private readonly watcher: Watch;
  private readonly path: string;

  constructor(
    kc: KubeConfig,
    private readonly ref: ConfigMapRef,
    private readonly opts: KubeConfigMapApiOptions,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.watcher = new Watch(kc);
    this.path = `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/configmaps`;
  }

  async list(): Promise<ConfigMapListResult> {
    const res = await this.core.listNamespacedConfigMap({ namespace: this.ref.namespace, fieldSelector: nameFieldSelector(this.ref) });
    return { resourceVersion: res.metadata?.resourceVersion, items: Array.isArray(res.items) ? res.items : [] };
  }

  async watch(resourceVersion: string, onEvent: WatchEventHandler, onDone: (err: unknown) => void): Promise<() => void> {
    const controller = await this.watcher.watch(
      this.path,
      {
        fieldSelector: nameFieldSelector(this.ref),
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.opts.watchTimeoutSeconds(),
      },
      (type: string, object: unknown) => onEvent(type, object),
      (err: unknown) => onDone(err ?? null),
    );
    return () => controller.abort();
  }
}

/** HTTP status of a client-node failure (ApiException `code`, watch error `statusCode`), else undefined. */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  const status = typeof e.code === 'number' ? e.code : e.statusCode;
  return typeof status === 'number' && status >= 100 && status < 600 ? status : undefined;
}

/** A short description of a client-node failure for logs (ApiException messages carry whole bodies and headers). */
export function describeApiError(err: unknown): string {
  const status = httpStatusOf(err);
  if (status !== undefined) {
    const body = (err as { body?: unknown }).body;
    let reason = '';
    try {
      const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
      const message = (parsed as { message?: unknown } | null)?.message;
      if (typeof message === 'string') reason = `: ${message}`;
    } catch {
      // not JSON: the status alone
    }
    return `HTTP ${status}${reason}`.slice(0, 300);
  }
  let message: string;
  try {
    message = err instanceof Error ? err.message : String(err);
  } catch {
    message = 'an error that cannot be described';
  }
  return message.slice(0, 300);
}
