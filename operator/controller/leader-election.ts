/**
 * Leader election with a coordination.k8s.io/v1 Lease (client-go's leaderelection): a candidate
 * takes the Lease when it is absent, released (no holder), expired or its own, and renews it every
 * `retryPeriodMs`; optimistic concurrency (resourceVersion → 409) makes exactly one of two racing
 * candidates win.
 *
 * Expiry is judged as client-go does, from this process's own clock only: a holder's Lease is
 * valid until `leaseDurationSeconds` after this process last saw the Lease record change; the
 * remote `renewTime` is written but never compared with the local clock, so clock skew between
 * nodes neither makes a live leader look expired nor a dead one alive.
 *
 * Losing is final: a leader that has not renewed within `renewDeadlineMs` of starting its last
 * successful renewal (a hanging request included), or that sees another holder, stops at once
 * (`onStoppedLeading`, called once) and never campaigns again; its process is to exit and start
 * clean, as controller-runtime's does. `release()` gives the Lease up on shutdown (holder cleared,
 * duration 1 s) so a standby takes over at once.
 */
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../runtime/ops/logger.js';
import { isConflict, isNotFound } from '../reconcile/api-errors.js';

/**
 * A Lease's times are metav1.MicroTime, which the API server parses with exactly six fractional
 * digits; the typed client writes Dates with toISOString (three). This Date writes six.
 */
export class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }
}

/** What a Lease renewal attempt found. */
interface Attempt {
  held: boolean;
  /** The holder the Lease names when not held by us (undefined: unknown or none). */
  otherHolder?: string | undefined;
}

type LeaseSpec = NonNullable<V1Lease['spec']>;

/** The Lease record as client-go compares it: holder, duration, times, transitions. */
function recordOf(spec: LeaseSpec): string {
  const time = (t: unknown) => (t instanceof Date ? new Date(t.getTime()).toISOString() : t === undefined ? '' : String(t));
  return JSON.stringify([spec.holderIdentity ?? '', spec.leaseDurationSeconds ?? 0, time(spec.acquireTime), time(spec.renewTime), spec.leaseTransitions ?? 0]);
}

export interface LeaderElectionOptions {
  coordination: Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  /** Default 15000 ms. */
  leaseDurationMs?: number;
  /** Default 10000 ms; below the lease duration. */
  renewDeadlineMs?: number;
  /** Default 2000 ms. */
  retryPeriodMs?: number;
  /** Local monotonic clock in ms. Default performance.now. */
  nowMs?: () => number;
  onStartedLeading: () => void;
  /** The Lease is lost (not on `release()`): stop acting now. Called at most once. */
  onStoppedLeading: () => void;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private lost = false;
  private timer: NodeJS.Timeout | undefined;
  private renewDeadline: NodeJS.Timeout | undefined;
  /** The Lease record last read or written, and when (local clock) it was first seen so. */
  private observed: { record: string; atMs: number } | undefined;
  /** The acquire or renew attempt in flight, if any. */
  private attempt: Promise<void> | undefined;
  private readonly nowMs: () => number;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.nowMs = opts.nowMs ?? (() => performance.now());
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Campaign (and, once leading, renew). Does nothing after the Lease was lost. */
  start(): void {
    if (this.lost) return;
    this.stopped = false;
    this.attempt = this.tick();
  }

  /**
   * Stop campaigning; when leading, release the Lease. Waits for an attempt in flight first (its
   * write would otherwise race the release's and win with a fresh renewTime).
   */
  async release(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await this.attempt;
    if (this.lost) return; // not ours any more: write nothing
    this.leading = false; // (an attempt that just took it, before it said so, is released too)
    for (let tries = 1; ; tries++) {
      try {
        const lease = await this.read();
        if (lease?.spec?.holderIdentity !== this.opts.identity) return;
        lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new MicroTime() };
        delete lease.spec.holderIdentity;
        await this.opts.coordination.replaceNamespacedLease({ namespace: this.opts.namespace, name: this.opts.name, body: lease });
        return;
      } catch (err) {
        if (isConflict(err) && tries < 3) continue;
        this.opts.log.warn({ err }, 'lease not released');
        return;
      }
    }
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.renewDeadline) clearTimeout(this.renewDeadline);
    this.timer = undefined;
    this.renewDeadline = undefined;
  }

  /** Leadership is over for this process: stop everything and tell the owner, once. */
  private lose(reason: string, holder?: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.lost = true;
    this.stopped = true;
    this.clearTimers();
    this.opts.log.error({ identity: this.opts.identity, reason, ...(holder ? { holder } : {}) }, 'lost the leader lease; stopping');
    this.opts.onStoppedLeading();
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
    const startedMs = this.nowMs();
    let attempt: Attempt = { held: false };
    try {
      attempt = await this.tryAcquireOrRenew();
    } catch (err) {
      this.opts.log.debug({ err }, 'lease attempt failed');
    }
    if (this.stopped) return;
    if (attempt.held) {
      // Others see this renewal no earlier than it was sent: the deadline counts from then.
      if (this.renewDeadline) clearTimeout(this.renewDeadline);
      const leftMs = startedMs + (this.opts.renewDeadlineMs ?? 10_000) - this.nowMs();
      this.renewDeadline = setTimeout(() => this.lose('renew deadline passed'), Math.max(0, leftMs));
      this.renewDeadline.unref();
      if (!this.leading) {
        this.leading = true;
        this.opts.log.info({ identity: this.opts.identity, lease: `${this.opts.namespace}/${this.opts.name}` }, 'became leader');
        this.opts.onStartedLeading();
      }
    } else if (this.leading && attempt.otherHolder !== undefined) {
      this.lose('another holder', attempt.otherHolder);
      return;
    }
    this.timer = setTimeout(() => (this.attempt = this.tick()), this.opts.retryPeriodMs ?? 2_000);
    this.timer.unref();
  }

  /** Remember `spec` as observed now, unless it is the record already observed. */
  private observe(spec: LeaseSpec): { record: string; atMs: number } {
    const record = recordOf(spec);
    if (this.observed?.record !== record) this.observed = { record, atMs: this.nowMs() };
    return this.observed;
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const { namespace, name, identity } = this.opts;
    const durationS = Math.max(1, Math.round((this.opts.leaseDurationMs ?? 15_000) / 1000));
    const now = new MicroTime();
    const lease = await this.read();
    if (!lease) {
      const spec: LeaseSpec = { holderIdentity: identity, leaseDurationSeconds: durationS, acquireTime: now, renewTime: now, leaseTransitions: 0 };
      try {
        await this.opts.coordination.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec } });
        this.observe(spec);
        return { held: true };
      } catch (err) {
        if (isConflict(err)) return { held: false };
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity || undefined;
    const seen = this.observe(spec);
    if (holder !== identity) {
      // A leader that sees another holder has lost, valid or not.
      if (this.leading) return { held: false, otherHolder: holder ?? '' };
      const valid = holder !== undefined && seen.atMs + (spec.leaseDurationSeconds ?? durationS) * 1000 > this.nowMs();
      if (valid) return { held: false, otherHolder: holder };
    }
    const next: LeaseSpec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationS,
      renewTime: now,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
      ...(holder === identity ? {} : { acquireTime: now }),
    };
    lease.spec = next;
    try {
      await this.opts.coordination.replaceNamespacedLease({ namespace, name, body: lease });
      this.observe(next);
      return { held: true };
    } catch (err) {
      if (isConflict(err)) return { held: false };
      throw err;
    }
  }
}
