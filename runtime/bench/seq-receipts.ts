/**
 * What one online member received of one group: a bitmap of seqs (groups are fresh, so seqs
 * start at 1), the highest contiguous seq (what the member acknowledges, cumulatively), and the
 * repeats. A bitmap keeps the check exact at any loss pattern for an eighth of a byte per
 * message; it grows by doubling up to `maxSeq`.
 */

export type Receipt = 'new' | 'duplicate' | 'out-of-range';

/** Inclusive seq ranges [first, last]. */
export type SeqRange = [first: number, last: number];

const INITIAL_BYTES = 64;

export class SeqReceipts {
  private bits = new Uint8Array(INITIAL_BYTES);
  /** Every seq from 1 to this one was received. */
  contiguous = 0;
  /** Distinct seqs received. */
  received = 0;
  /** Seqs received again. */
  duplicates = 0;

  constructor(private readonly maxSeq: number) {}

  has(seq: number): boolean {
    if (!Number.isSafeInteger(seq) || seq < 1) return false;
    const byte = seq >> 3;
    return byte < this.bits.length && ((this.bits[byte] as number) & (1 << (seq & 7))) !== 0;
  }

  /** Record one delivery of `seq`. */
  mark(seq: number): Receipt {
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > this.maxSeq) return 'out-of-range';
    if (this.has(seq)) {
      this.duplicates++;
      return 'duplicate';
    }
    const byte = seq >> 3;
    if (byte >= this.bits.length) this.grow(byte + 1);
    this.bits[byte] = (this.bits[byte] as number) | (1 << (seq & 7));
    this.received++;
    if (seq === this.contiguous + 1) {
      do this.contiguous++;
      while (this.has(this.contiguous + 1));
    }
    return 'new';
  }

  /** Distinct seqs received with lo < seq ≤ hi. */
  countIn(lo: number, hi: number): number {
    if (hi <= lo) return 0;
    if (hi <= this.contiguous) return hi - lo;
    let n = Math.max(0, Math.min(this.contiguous, hi) - lo);
    for (let s = Math.max(lo, this.contiguous) + 1; s <= hi; s++) if (this.has(s)) n++;
    return n;
  }

  /**
   * Seqs with lo < seq ≤ hi that were not received, as ranges. At most `maxRanges` ranges are
   * listed (at least 1); when there are more, the last one is widened to `hi` (it may then cover received
   * seqs too) and `truncated` says so.
   */
  missingRanges(lo: number, hi: number, maxRanges: number): { ranges: SeqRange[]; truncated: boolean } {
    const ranges: SeqRange[] = [];
    let start = -1;
    for (let s = Math.max(lo, this.contiguous) + 1; s <= hi; s++) {
      const missing = !this.has(s);
      if (missing && start < 0) {
        if (ranges.length >= Math.max(1, maxRanges)) {
          (ranges[ranges.length - 1] as SeqRange)[1] = hi;
          return { ranges, truncated: true };
        }
        start = s;
      } else if (!missing && start >= 0) {
        ranges.push([start, s - 1]);
        start = -1;
      }
    }
    if (start >= 0) ranges.push([start, hi]);
    return { ranges, truncated: false };
  }

  private grow(minBytes: number): void {
    let size = this.bits.length;
    while (size < minBytes) size *= 2;
    const next = new Uint8Array(Math.min(size, (this.maxSeq >> 3) + 1));
    next.set(this.bits);
    this.bits = next;
  }
}

/** Seqs of `ranges` that are at or below `cursor`: missing although the server counts them as acknowledged. */
export function countAtOrBelow(ranges: readonly SeqRange[], cursor: number): number {
  let n = 0;
  for (const [first, last] of ranges) if (first <= cursor) n += Math.min(last, cursor) - first + 1;
  return n;
}
