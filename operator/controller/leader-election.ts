/**
 * Leader election with a coordination.k8s.io/v1 Lease (client-go's leaderelection): a candidate
 * takes the Lease when it is absent, expired (renewTime + leaseDurationSeconds in the past) or its
 * own, and renews it every `retryPeriodMs`; optimistic concurrency (resourceVersion → 409) makes
 * exactly one of two racing candidates win. A leader that cannot renew within `renewDeadlineMs`
 * steps down (`onStoppedLeading`). `release()` gives the Lease up on shutdown (holder cleared,
 * duration 1 s) so a standby takes over at once.
 */
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../runtime/ops/logger.js';
import { isConflict, isNotFound } from '../reconcile/api-errors.js';

/**
 * A Lease's times are metav1.MicroTime, which the API server parses with exactly six fractional
 * digits; the typed client writes Dates with toISOString (three). This Date writes six.
 */
class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }
}

export interface LeaderElectionOptions {
  coordination: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  /** Default 15000 ms. */
  leaseDurationMs?: number;
  /** Default 10000 ms. */
  renewDeadlineMs?: number;
  /** Default 2000 ms. */
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenewMs = 0;

  constructor(private readonly opts: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stop campaigning; when leading, release the Lease. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity === this.opts.identity) {
        lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new MicroTime() };
        delete lease.spec.holderIdentity;
        await this.opts.coordination.replaceNamespacedLease({ namespace: this.opts.namespace, name: this.opts.name, body: lease });
      }
    } catch (err) {
      this.opts.log.warn({ err }, 'lease not released');
    }
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.opts.coordination.readNamespacedLease({ namespace: this.opts.namespace, name: this.opts.name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let held = false;
    try {
      held = await this.tryAcquireOrRenew();
    } catch (err) {
      this.opts.log.debug({ err }, 'lease attempt failed');
    }
    if (this.stopped) return;
    const now = Date.now();
    if (held) {
      this.lastRenewMs = now;
      if (!this.leading) {
        this.leading = true;
        this.opts.log.info({ identity: this.opts.identity, lease: `${this.opts.namespace}/${this.opts.name}` }, 'became leader');
        this.opts.onStartedLeading();
      }
    } else if (this.leading && now - this.lastRenewMs > (this.opts.renewDeadlineMs ?? 10_000)) {
      this.leading = false;
      this.opts.log.warn({ identity: this.opts.identity }, 'lost the lease; stepping down');
      this.opts.onStoppedLeading();
    }
    this.timer = setTimeout(() => void this.tick(), this.opts.retryPeriodMs ?? 2_000);
    this.timer.unref();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const durationS = Math.max(1, Math.round((this.opts.leaseDurationMs ?? 15_000) / 1000));
    const now = new MicroTime();
    const lease = await this.read();
    if (!lease) {
      try {
        await this.opts.coordination.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: { holderIdentity: identity, leaseDurationSeconds: durationS, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
        });
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewMs = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = !holder || renewMs + (spec.leaseDurationSeconds ?? durationS) * 1000 < now.getTime();
    if (holder !== identity && !expired) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationS,
      renewTime: now,
      leaseTransitions: transitions,
      ...(holder === identity ? {} : { acquireTime: now }),
    };
    try {
      await this.opts.coordination.replaceNamespacedLease({ namespace, name, body: lease });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}
