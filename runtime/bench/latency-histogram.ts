/**
 * Delivery latencies of a benchmark run, in milliseconds: a log-bucketed histogram with about 1 %
 * relative precision from 0.01 ms up, so millions of samples take a few hundred numbers, merge
 * across client worker processes, and travel over IPC as a compact snapshot.
 *
 * Percentiles are nearest-rank: the smallest recorded bucket whose cumulative count reaches
 * ceil(p/100 · n), reported as that bucket's upper bound clamped to the exact min and max.
 */

/** Smallest resolved latency; anything below (including negative skew) lands in bucket 0. */
const FLOOR_MS = 0.01;
/** Relative width of a bucket. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Bucket indexes are bounded, so a wild value cannot make the map grow without end (≈ 10^8 ms). */
const MAX_INDEX = Math.ceil(Math.log(1e8 / FLOOR_MS) / LOG_GROWTH);

/** What a worker sends back: [bucket index, count] pairs plus exact summary figures. */
export interface HistogramSnapshot {
  buckets: Array<[number, number]>;
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
}

export function bucketOf(ms: number): number {
  if (!(ms > FLOOR_MS)) return 0;
  return Math.min(MAX_INDEX, Math.ceil(Math.log(ms / FLOOR_MS) / LOG_GROWTH));
}

/** Upper bound of a bucket, in ms. */
export function bucketUpperMs(index: number): number {
  return FLOOR_MS * GROWTH ** index;
}

export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private n = 0;
  private total = 0;
  private lo = Infinity;
  private hi = -Infinity;

  get count(): number {
    return this.n;
  }

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const v = Math.max(0, ms);
    const b = bucketOf(v);
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
    this.n++;
    this.total += v;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
  }

  /** Nearest-rank percentile (0 < p ≤ 100), or null when nothing was recorded. */
  percentile(p: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.n));
    let seen = 0;
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index) as number;
      if (seen >= rank) return Math.min(this.hi, Math.max(this.lo, bucketUpperMs(index)));
    }
    return this.hi;
  }

  /** Samples in buckets above the one `ms` falls in (those a percentile of `ms` ranks above it). */
  countAbove(ms: number): number {
    // A percentile is a bucket's upper bound; shrinking it by a hair keeps float rounding from
    // placing it in the next bucket.
    const limit = bucketOf(Math.max(0, ms) / (1 + 1e-9));
    let n = 0;
    for (const [index, count] of this.counts) if (index > limit) n += count;
    return n;
  }

  get mean(): number | null {
    return this.n === 0 ? null : this.total / this.n;
  }

  get max(): number | null {
    return this.n === 0 ? null : this.hi;
  }

  snapshot(): HistogramSnapshot {
    return {
      buckets: [...this.counts.entries()],
      count: this.n,
      sum: this.total,
      min: this.n === 0 ? null : this.lo,
      max: this.n === 0 ? null : this.hi,
    };
  }

  /** Add another histogram's samples. Malformed entries (from an untrusted snapshot) are skipped. */
  merge(s: HistogramSnapshot): void {
    let added = 0;
    for (const entry of s.buckets) {
      const [index, count] = entry;
      if (!Number.isSafeInteger(index) || index < 0 || index > MAX_INDEX || !Number.isSafeInteger(count) || count <= 0) continue;
      this.counts.set(index, (this.counts.get(index) ?? 0) + count);
      added += count;
    }
    if (added === 0) return;
    this.n += added;
    this.total += Number.isFinite(s.sum) ? s.sum : 0;
    if (s.min !== null && s.min < this.lo) this.lo = s.min;
    if (s.max !== null && s.max > this.hi) this.hi = s.max;
  }
}
