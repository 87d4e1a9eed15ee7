/**
 * Reconnect and retry delays: exponential growth with full jitter above a floor.
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
