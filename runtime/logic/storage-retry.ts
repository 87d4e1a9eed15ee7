/**
 * Requests that meet a transient Redis failure (a failover, a slot migration, a timeout: see
 * isRetryableRedisError) are run again here, inside the logic node, with jittered exponential
 * backoff and a slot map refresh before each new attempt — for at most `retryMs` from the first
 * attempt and never past the request's deadline. When the bound passes, the last error goes up and
 * the request is answered UNAVAILABLE (which gates and clients retry with the same id).
 *
 * Safe because every internal request is idempotent: a send or post is stored at most once per
 * client id (the append script's idempotency record), sync, members.get and login replay only
 * read (a replay sent twice is de-duplicated by gate and client), and members.update adds and
 * removes set members (applying it again changes nothing). Any other error is not retried.
 */
import { type BackoffBounds, backoffDelayMs } from '../retry/backoff.js';
import type { InternalOp } from '../protocol/internal-frames.js';
import { isRetryableRedisError } from '../redis/redis-errors.js';
import type { RedisStore } from '../redis/redis-store.js';
import type { LogicMetrics } from './logic-metrics.js';
import type { StorageHealth } from './storage-health.js';

/** Delays between attempts: from 50 ms, the jitter window doubling per attempt, at most 1 s. */
export const STORAGE_RETRY_BACKOFF: BackoffBounds = { minMs: 50, maxMs: 1000 };

export interface StorageRetryOptions {
  /** Attempts are started for at most this long after the first one, in ms (0: never retry). */
  storageRetryMs: number;
}

export interface StorageRetryDeps {
  store: Pick<RedisStore, 'refreshSlots'>;
  health: StorageHealth;
  metrics: LogicMetrics;
}

/** When the caller stops waiting: an absolute time (Date.now clock) and the signal that fires then. */
export interface RequestDeadline {
  atMs: number;
  signal: AbortSignal;
}

export class StorageRetry {
  constructor(
    private readonly deps: StorageRetryDeps,
    private readonly opts: StorageRetryOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** Run `attempt` until it succeeds, fails for good, or the retry bound or `deadline` passes. */
  async run<T>(op: InternalOp, attempt: () => Promise<T>, deadline: RequestDeadline): Promise<T> {
    const { health, metrics, store } = this.deps;
    const giveUpAt = Math.min(Date.now() + this.opts.storageRetryMs, deadline.atMs);
    for (let retry = 0; ; retry++) {
      let result: T;
      try {
        result = await attempt();
      } catch (err) {
        if (!isRetryableRedisError(err)) throw err;
        health.failed(err, 'request');
        const delayMs = backoffDelayMs(retry, STORAGE_RETRY_BACKOFF, this.random);
        if (deadline.signal.aborted || Date.now() + delayMs >= giveUpAt) {
          health.requestUnavailable();
          throw err;
        }
        if (retry === 0) health.requestRetried();
        metrics.storageRetries.inc({ op });
        // The failure may mean the slot map is stale (a replica promoted, a slot moved).
        store.refreshSlots();
        await sleep(delayMs, deadline.signal);
        if (deadline.signal.aborted) {
          health.requestUnavailable();
          throw err;
        }
        continue;
      }
      health.succeeded();
      return result;
    }
  }
}

/** Resolves after `ms`, or at once when `signal` fires. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
