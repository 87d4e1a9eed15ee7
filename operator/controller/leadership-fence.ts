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
    // Our own deadline, not AbortSignal.timeout inside AbortSignal.any: Node may collect a timeout
    // signal that only a composite refers to, and the request would then never time out
    // (nodejs/node#57736; seen here as a reconcile hung on a silent connection). The timer holds
    // its controller until it fires, so this deadline cannot be collected early.
    let own = context.getSignal();
    if (!own) {
      const deadline = new AbortController();
      setTimeout(() => deadline.abort(new DOMException(`no answer within ${this.requestTimeoutMs} ms`, 'TimeoutError')), this.requestTimeoutMs).unref();
      own = deadline.signal;
    }
    context.setSignal(AbortSignal.any([own, this.signal]));
    await super.applySecurityAuthentication(context); // keeps the signal set here
  }
}
