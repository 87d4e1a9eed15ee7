/**
 * Rate limits kept per connection in a few numbers, without timers: a token bucket for frames
 * per second, and a fixed-window counter for invalid frames. Time is passed in, so both are pure.
 */

export interface TokenBucketLimits {
  /** Refill rate, tokens per second. */
  ratePerSec: number;
  /** Bucket size: tokens available at once. */
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly limits: TokenBucketLimits,
    nowMs: number,
  ) {
    this.tokens = limits.burst;
    this.lastMs = nowMs;
  }

  /** Take one token; false when the bucket is empty (the caller drops the frame). */
  take(nowMs: number): boolean {
    const elapsedMs = nowMs - this.lastMs;
    if (elapsedMs > 0) {
      this.tokens = Math.min(this.limits.burst, this.tokens + (elapsedMs * this.limits.ratePerSec) / 1000);
      this.lastMs = nowMs;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface WindowLimits {
  /** Events allowed per window. */
  max: number;
  windowMs: number;
}

/** Counts events in fixed windows; `add` says whether the count is still within the limit. */
export class WindowCounter {
  private count = 0;
  private windowStartMs: number;

  constructor(
    private readonly limits: WindowLimits,
    nowMs: number,
  ) {
    this.windowStartMs = nowMs;
  }

  /** Record one event; false once more than `max` happened in the current window. */
  add(nowMs: number): boolean {
    if (nowMs - this.windowStartMs >= this.limits.windowMs) {
      this.windowStartMs = nowMs;
      this.count = 0;
    }
    this.count++;
    return this.count <= this.limits.max;
  }
}
