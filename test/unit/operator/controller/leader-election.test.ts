/**
 * LeaderElector against an in-memory Lease store with the API server's optimistic concurrency
 * (resourceVersion → 409), on fake timers and a fake local clock: expiry is judged from when this
 * process saw the Lease record change, never from the remote renewTime (clock skew); a leader that
 * cannot renew within the renew deadline, or sees another holder, stops at once and for good.
 */
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LeaderElectionOptions, LeaderElector } from '../../../../operator/controller/leader-election.js';
import { createLogger } from '../../../../runtime/ops/logger.js';

const HOUR_MS = 3_600_000;

class ApiError extends Error {
  constructor(readonly code: number) {
    super(`HTTP ${code}`);
  }
}

/** One Lease in memory; `mode` makes every call fail or hang, as an unreachable API server would. */
class LeaseStore {
  lease: V1Lease | undefined;
  private rv = 0;
  mode: 'ok' | 'fail' | 'hang' | 'slow' = 'ok';
  /** In mode `slow`, calls wait until `proceed()`, which lets them all go in order. */
  private waiting: (() => void)[] = [];
  proceed(): void {
    for (const go of this.waiting.splice(0)) go();
  }
  calls = 0;

  readonly api = {
    readNamespacedLease: async (_: { namespace: string; name: string }) => {
      await this.gate();
      if (!this.lease) throw new ApiError(404);
      return structuredClone(this.lease);
    },
    createNamespacedLease: async ({ body }: { namespace: string; body: V1Lease }) => {
      await this.gate();
      if (this.lease) throw new ApiError(409);
      return this.store(body);
    },
    replaceNamespacedLease: async ({ body }: { namespace: string; name: string; body: V1Lease }) => {
      await this.gate();
      if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw new ApiError(409);
      return this.store(body);
    },
  };

  /** Another process writes the Lease (a holder that renews, or one that steals it). */
  write(spec: NonNullable<V1Lease['spec']>): void {
    this.store({ metadata: { name: 'op', namespace: 'ns' }, spec });
  }

  private store(body: V1Lease): V1Lease {
    this.lease = structuredClone({ ...body, metadata: { ...body.metadata, resourceVersion: String(++this.rv) } });
    return structuredClone(this.lease);
  }

  private async gate(): Promise<void> {
    this.calls++;
    if (this.mode === 'fail') throw new Error('connect ECONNREFUSED');
    if (this.mode === 'hang') await new Promise(() => {});
    if (this.mode === 'slow') await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
}

/** Defaults of client-go and of `imgroup operator`: 15 s Lease, 10 s renew deadline, 2 s retry. */
function elector(store: LeaseStore, identity: string, over: Partial<LeaderElectionOptions> = {}) {
  const events: string[] = [];
  const e = new LeaderElector({
    coordination: store.api as unknown as CoordinationV1Api,
    namespace: 'ns',
    name: 'op',
    identity,
    log: createLogger('test', 'silent'),
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    nowMs: () => Date.now(), // the fake clock: advances with the fake timers only
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
    ...over,
  });
  return { e, events };
}

describe('LeaderElector', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('takes an absent Lease and keeps renewing it', async () => {
    const store = new LeaseStore();
    const { e, events } = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(e.isLeader).toBe(true);
    const first = store.lease?.metadata?.resourceVersion;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events).toEqual(['started']);
    expect(store.lease?.spec?.holderIdentity).toBe('me');
    expect(Number(store.lease?.metadata?.resourceVersion)).toBeGreaterThan(Number(first));
  });

  it('clock skew: a live holder whose renewTime is an hour behind our clock is not taken over', async () => {
    const store = new LeaseStore();
    const renewBehind = () => store.write({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: new Date(Date.now() - HOUR_MS) as never });
    renewBehind();
    const { e, events } = elector(store, 'me');
    e.start();
    for (let i = 0; i < 30; i++) {
      await vi.advanceTimersByTimeAsync(2_000);
      renewBehind(); // the holder renews every 2 s, with a clock an hour slow
    }
    expect(events).toEqual([]);
    expect(store.lease?.spec?.holderIdentity).toBe('other');
  });

  it('clock skew: a dead holder whose renewTime is an hour ahead of our clock is taken over one lease duration after its last change was seen', async () => {
    const store = new LeaseStore();
    store.write({ holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: new Date(Date.now() + HOUR_MS) as never });
    const { e, events } = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(14_000);
    expect(events).toEqual([]); // still valid: seen unchanged for 14 s < 15 s
    await vi.advanceTimersByTimeAsync(4_000);
    expect(events).toEqual(['started']);
    expect(store.lease?.spec?.holderIdentity).toBe('me');
    expect(store.lease?.spec?.leaseTransitions).toBe(1);
  });

  it('a released Lease (no holder) is taken at once', async () => {
    const store = new LeaseStore();
    store.write({ leaseDurationSeconds: 1, renewTime: new Date() as never });
    const { e, events } = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual(['started']);
  });

  it('a leader whose renewals hang stops at the renew deadline, counted from its last successful renewal, and never campaigns again', async () => {
    const store = new LeaseStore();
    const { e, events } = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual(['started']);
    await vi.advanceTimersByTimeAsync(1_000);
    store.mode = 'hang'; // the renewal due at 2 s never answers
    await vi.advanceTimersByTimeAsync(8_999);
    expect(events).toEqual(['started']);
    await vi.advanceTimersByTimeAsync(1);
    expect(events).toEqual(['started', 'stopped']);
    expect(e.isLeader).toBe(false);
    store.mode = 'ok';
    const calls = store.calls;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(store.calls).toBe(calls); // no further reads or writes: the process is to exit
    expect(events).toEqual(['started', 'stopped']);
  });

  it('a leader whose renewals fail stops at the renew deadline, not at the next retry after it', async () => {
    const store = new LeaseStore();
    const { e, events } = elector(store, 'me', { retryPeriodMs: 3_000 });
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    store.mode = 'fail';
    await vi.advanceTimersByTimeAsync(9_999);
    expect(events).toEqual(['started']);
    await vi.advanceTimersByTimeAsync(1);
    expect(events).toEqual(['started', 'stopped']);
  });

  it('a leader that sees another holder stops at once, without waiting for the renew deadline', async () => {
    const store = new LeaseStore();
    const { e, events } = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    store.write({ holderIdentity: 'thief', leaseDurationSeconds: 15, renewTime: new Date() as never });
    await vi.advanceTimersByTimeAsync(2_000); // the next renewal reads the Lease
    expect(events).toEqual(['started', 'stopped']);
    expect(store.lease?.spec?.holderIdentity).toBe('thief');
    const calls = store.calls;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(store.calls).toBe(calls);
  });

  it('release waits for a renewal in flight, so that the renewal does not undo the release', async () => {
    const store = new LeaseStore();
    const { e } = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    store.mode = 'slow';
    await vi.advanceTimersByTimeAsync(2_000); // a renewal starts and waits on its read
    const released = e.release();
    store.mode = 'ok';
    store.proceed();
    await released;
    expect(store.lease?.spec?.holderIdentity).toBeUndefined();
    expect(e.isLeader).toBe(false);
  });

  it('release gives the Lease up (no holder) so that a standby takes it at once', async () => {
    const store = new LeaseStore();
    const { e } = elector(store, 'me');
    e.start();
    await vi.advanceTimersByTimeAsync(0);
    await e.release();
    expect(store.lease?.spec?.holderIdentity).toBeUndefined();
    const { e: standby, events } = elector(store, 'standby');
    standby.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual(['started']);
  });
});
