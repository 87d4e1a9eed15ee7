/**
 * A connection to the Kubernetes API server (operator; gates watching their membership ConfigMap): a kubeconfig file or the in-cluster ServiceAccount,
 * with a deadline on every API request. `@kubernetes/client-node` sets none, so a request on a
 * connection that went silent (a dead peer, a black-holed NAT entry) would hang a reconcile worker
 * forever. Watches are not API requests here (they go through `Watch`, which takes no deadline):
 * the informer watchdog looks after those.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../config/options.js';

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
    else kc.loadFromCluster();
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
