/**
 * Whether Redis is failing over, as this logic node sees it. A failover makes many requests fail
 * at once, each for the same reason: the node logs the outage once — one warn when the first
 * transient failure arrives (with that error), one info when requests succeed again (with how
 * many requests were retried and how many were answered UNAVAILABLE meanwhile) — and counts every
 * single failure in `imgroup_logic_storage_failures_total{source}` instead of logging it.
 *
 * An outage ends with the first success that comes at least `quietMs` after the last failure, so
 * that a failover which hits one master of three (the others keep answering) is one outage, not
 * one per request that happened to succeed. A long outage is recalled at warn every `reminderMs`.
 */
import type { Logger } from 'pino';
import { redisErrorKind } from '../redis/redis-errors.js';
import type { LogicMetrics, StorageFailureSource } from './logic-metrics.js';

export interface StorageHealthOptions {
  /** An outage ends at the first success this long after its last failure, in ms. */
  quietMs: number;
  /** A continuing outage is logged again (warn) at most this often, in ms. */
  reminderMs: number;
}

export const STORAGE_HEALTH_DEFAULTS: StorageHealthOptions = { quietMs: 2000, reminderMs: 60_000 };

interface Outage {
  sinceMs: number;
  lastFailureMs: number;
  lastLogMs: number;
  failures: number;
  retriedRequests: number;
  unavailableRequests: number;
}

export class StorageHealth {
  private outage: Outage | null = null;

  constructor(
    private readonly log: Logger,
    private readonly metrics: LogicMetrics,
    private readonly opts: StorageHealthOptions = STORAGE_HEALTH_DEFAULTS,
    private readonly now: () => number = Date.now,
  ) {}

  /** True between the first transient failure and the recovery. */
  get unavailable(): boolean {
    return this.outage !== null;
  }

  /** A transient Redis failure (see isRetryableRedisError) seen by `source`. */
  failed(err: unknown, source: StorageFailureSource): void {
    this.metrics.storageFailures.inc({ source });
    const now = this.now();
    const o = this.outage;
    if (!o) {
      this.outage = { sinceMs: now, lastFailureMs: now, lastLogMs: now, failures: 1, retriedRequests: 0, unavailableRequests: 0 };
      this.metrics.storageOutages.inc();
      this.log.warn(
        { err, kind: redisErrorKind(err), source },
        'Redis unavailable (failover, slot migration or timeout): requests are retried, then answered UNAVAILABLE; further failures are only counted until it recovers',
      );
      return;
    }
    o.failures++;
    o.lastFailureMs = now;
    if (now - o.lastLogMs < this.opts.reminderMs) return;
    o.lastLogMs = now;
    this.log.warn({ err, kind: redisErrorKind(err), source, outageMs: now - o.sinceMs, ...counts(o) }, 'Redis still unavailable');
  }

  /** A request needed at least one retry. */
  requestRetried(): void {
    if (this.outage) this.outage.retriedRequests++;
  }

  /** A request was answered UNAVAILABLE because Redis stayed unavailable past the retry bound or its deadline. */
  requestUnavailable(): void {
    if (this.outage) this.outage.unavailableRequests++;
  }

  /** A request reached Redis and succeeded. */
  succeeded(): void {
    const o = this.outage;
    if (!o) return;
    if (this.now() - o.lastFailureMs < this.opts.quietMs) return;
    this.outage = null;
    this.log.info({ outageMs: o.lastFailureMs - o.sinceMs, ...counts(o) }, 'Redis available again');
  }
}

function counts(o: Outage): { failures: number; retriedRequests: number; unavailableRequests: number } {
  return { failures: o.failures, retriedRequests: o.retriedRequests, unavailableRequests: o.unavailableRequests };
}
