/**
 * The ConfigMap membership source's access to the API, through @kubernetes/client-node: a list
 * and a watch of `/api/v1/namespaces/<ns>/configmaps`, both with
 * `fieldSelector=metadata.name=<name>` — the gate's Role grants get/list/watch on that one name
 * only, so a request without the selector is forbidden.
 *
 * The KubeConfig is the pod's in-cluster ServiceAccount (token re-read from its projected file)
 * or a kubeconfig file (IMGROUP_KUBECONFIG), as a DeadlineKubeConfig: client-node's list has no
 * deadline of its own, so every API request carries one; its watch has none either, which the
 * list-watch loop's watchdog covers.
 *
 * This is the gate's only module that loads client-node: membership-source-choice.ts imports it
 * dynamically, when the ConfigMap source is chosen, so a gate reading a file never loads it.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ClientListWatchApi } from '../kube/client-list-watch-api.js';
import { type DeadlineKubeConfig, loadKubeConfig } from '../kube/kube-config.js';
import type { ListWatchApi } from '../kube/list-watch.js';
import { type ConfigMapRef, nameFieldSelector } from './membership-configmap-ref.js';

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

/** List and watch of the one ConfigMap `ref` names (the API server ends each watch after 5-10 minutes). */
export function configMapListWatchApi(kc: KubeConfig, ref: ConfigMapRef): ListWatchApi {
  const core = kc.makeApiClient(CoreV1Api);
  const fieldSelector = nameFieldSelector(ref);
  return new ClientListWatchApi(kc, {
    path: `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/configmaps`,
    fieldSelector,
    list: () => core.listNamespacedConfigMap({ namespace: ref.namespace, fieldSelector }),
  });
}
