/**
 * The one backoff of imgroup: every reconnect and retry delay (clients, gate → logic links, Redis,
 * list-watches, the operator's work queues) comes from here. Exponential growth with full jitter
 * above a floor.
 *
 * The delay of attempt `n` (0-based) is drawn uniformly from `[minMs, min(maxMs, minMs * 2^(n+1))]`,
 * so even the first retry is spread over a window (thousands of clients that lose the same gate do
 * not come back in lock-step), the window doubles per attempt, and no delay exceeds `maxMs`.
 */

export interface BackoffBounds {
  /** Shortest delay and the base of the exponential window, in ms. */
  minMs: number;
  /** Longest delay, in ms. */
  maxMs: number;
}

/** Attempts beyond this do not widen the window further (2^31 × minMs is past any sane maxMs). */
const MAX_EXPONENT = 31;

/**
 * Delay before retry number `attempt` (0 for the first retry). `random` returns a number in [0, 1),
 * like `Math.random`; it is a parameter so the function stays pure and testable.
 */
export function backoffDelayMs(attempt: number, bounds: BackoffBounds, random: () => number = Math.random): number {
  const exponent = (attempt > 0 ? Math.min(Math.floor(attempt), MAX_EXPONENT) : 0) + 1;
  const ceiling = Math.min(bounds.maxMs, bounds.minMs * 2 ** exponent);
  const span = Math.max(0, ceiling - bounds.minMs);
  const drawn = random();
  const r = drawn > 0 ? Math.min(drawn, 1) : 0; // NaN and negatives count as 0
  return Math.min(bounds.maxMs, bounds.minMs + Math.floor(r * span));
}

/**
 * A retry loop's attempt counter over `backoffDelayMs`: `next()` is the delay before the next
 * attempt (and counts it), `reset()` after a success starts the window again at `minMs`.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly bounds: BackoffBounds,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt, in ms; counts one more failed attempt. */
  next(): number {
    return backoffDelayMs(this.attempt++, this.bounds, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}
