/**
 * A connection to the Kubernetes API server (operator; gates watching their membership ConfigMap): a kubeconfig file or the in-cluster ServiceAccount,
 * with a deadline on every API request. `@kubernetes/client-node` sets none, so a request on a
 * connection that went silent (a dead peer, a black-holed NAT entry) would hang a reconcile worker
 * forever. Watches are not API requests here (they go through `Watch`, which takes no deadline):
 * the informer watchdog looks after those.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../config/options.js';

/**
 * Where the kubelet mounts a pod's ServiceAccount volume (`token`, `ca.crt`, `namespace`), and
 * where @kubernetes/client-node's loadFromCluster reads it.
 */
export const DEFAULT_SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type SecurityContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/** A KubeConfig whose API requests are aborted after `requestTimeoutMs`. */
export class DeadlineKubeConfig extends KubeConfig {
  constructor(readonly requestTimeoutMs: number) {
    super();
  }

  override async applySecurityAuthentication(context: SecurityContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    if (!context.getSignal()) context.setSignal(AbortSignal.timeout(this.requestTimeoutMs));
  }
}

export interface KubeConfigOptions {
  /** Path of a kubeconfig file; absent: the in-cluster ServiceAccount configuration. */
  kubeconfig?: string | undefined;
  /**
   * Directory of the in-cluster ServiceAccount files (`token`, `ca.crt`). Default
   * DEFAULT_SERVICE_ACCOUNT_DIR; another one serves a process that runs outside a container with
   * the volume mounted elsewhere (the test node agent). Unused with a kubeconfig.
   */
  serviceAccountDir?: string | undefined;
  requestTimeoutMs: number;
  /** What to tell a user who runs this outside a pod without a kubeconfig. */
  outsidePodHint?: string;
}

/**
 * The KubeConfig, or a ConfigError naming the setting: a kubeconfig file that cannot be loaded or
 * names no usable API server, or no kubeconfig outside a pod (KUBERNETES_SERVICE_HOST/PORT unset).
 */
export function loadKubeConfig(o: KubeConfigOptions): DeadlineKubeConfig {
  const kc = new DeadlineKubeConfig(o.requestTimeoutMs);
  try {
    if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
    else loadInCluster(kc, o.serviceAccountDir ?? DEFAULT_SERVICE_ACCOUNT_DIR);
  } catch (err) {
    if (!o.kubeconfig) throw err;
    throw new ConfigError(`IMGROUP_KUBECONFIG (or --kubeconfig): ${o.kubeconfig} cannot be loaded: ${(err as Error).message}`);
  }
  const server = kc.getCurrentCluster()?.server;
  if (!server || !URL.canParse(server) || server.includes('undefined')) {
    throw new ConfigError(
      o.kubeconfig
        ? `IMGROUP_KUBECONFIG (or --kubeconfig): ${o.kubeconfig} names no usable API server in its current context`
        : `this process is not in a pod (KUBERNETES_SERVICE_HOST/PORT are unset): ${o.outsidePodHint ?? 'set IMGROUP_KUBECONFIG (or --kubeconfig)'}`,
    );
  }
  return kc;
}

/**
 * client-node's in-cluster configuration (server from KUBERNETES_SERVICE_HOST/PORT, the token file
 * re-read as it is rotated, the CA), its ServiceAccount files read from `dir`. loadFromCluster can
 * only prefix the standard path, so another directory gets the same cluster and user built here.
 */
function loadInCluster(kc: KubeConfig, dir: string): void {
  kc.loadFromCluster();
  if (dir === DEFAULT_SERVICE_ACCOUNT_DIR) return;
  const cluster = kc.getCurrentCluster();
  if (!cluster) return;
  kc.loadFromClusterAndUser(
    { ...cluster, caFile: join(dir, 'ca.crt') },
    { name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } } },
  );
}

/** The pod's namespace from its ServiceAccount volume, or undefined outside a pod. */
export function serviceAccountNamespace(dir: string = DEFAULT_SERVICE_ACCOUNT_DIR): string | undefined {
  try {
    return readFileSync(join(dir, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
