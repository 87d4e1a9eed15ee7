/**
 * A connection to the Kubernetes API server (operator; gates watching their membership ConfigMap): a kubeconfig file or the in-cluster ServiceAccount,
 * with a deadline on every API request. `@kubernetes/client-node` sets none, so a request on a
 * connection that went silent (a dead peer, a black-holed NAT entry) would hang a reconcile worker
 * forever. Watches are not API requests here (they go through `Watch`, which takes no deadline):
 * the informer watchdog looks after those.
 */
import { KubeConfig } from '@kubernetes/client-node';

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
}

export function loadKubeConfig(o: KubeConfigOptions): DeadlineKubeConfig {
  const kc = new DeadlineKubeConfig(o.requestTimeoutMs);
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromCluster();
  return kc;
}
