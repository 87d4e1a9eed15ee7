/**
 * The fence between a leader that lost its Lease and the API server: the controller's API
 * requests go through a KubeConfig that, once `signal` aborts, refuses every new request and
 * aborts those in flight. A reconcile that was half-way when the Lease was lost therefore writes
 * nothing more (while the new leader may already be acting), instead of finishing its work.
 * Watches do not pass through here: the controller stops its informers itself.
 */
import { DeadlineKubeConfig } from '../../runtime/kube/kube-config.js';

type SecurityContext = Parameters<DeadlineKubeConfig['applySecurityAuthentication']>[0];

export class FencedKubeConfig extends DeadlineKubeConfig {
  /** The same clusters, users and context as `from`, with its request deadline, behind `signal`. */
  constructor(
    from: DeadlineKubeConfig,
    private readonly signal: AbortSignal,
  ) {
    super(from.requestTimeoutMs);
    this.loadFromOptions({ clusters: from.clusters, users: from.users, contexts: from.contexts, currentContext: from.currentContext });
  }

  override async applySecurityAuthentication(context: SecurityContext): Promise<void> {
    this.signal.throwIfAborted();
    await super.applySecurityAuthentication(context);
    const own = context.getSignal();
    context.setSignal(own ? AbortSignal.any([own, this.signal]) : this.signal);
  }
}
