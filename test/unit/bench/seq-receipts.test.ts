import { describe, expect, it } from 'vitest';
import { countAtOrBelow, SeqReceipts } from '../../../runtime/bench/seq-receipts.js';

function receiptsOf(seqs: number[], maxSeq = 10_000): SeqReceipts {
  const r = new SeqReceipts(maxSeq);
  for (const s of seqs) r.mark(s);
  return r;
}

describe('SeqReceipts', () => {
  it('tracks the highest contiguous seq through gaps that fill later', () => {
    const r = new SeqReceipts(100);
    expect(r.mark(1)).toBe('new');
    expect(r.mark(3)).toBe('new');
    expect(r.contiguous).toBe(1);
    expect(r.mark(2)).toBe('new');
    expect(r.contiguous).toBe(3);
    expect(r.received).toBe(3);
  });

  it('counts repeats as duplicates, not as deliveries', () => {
    const r = receiptsOf([1, 2, 2, 5, 5, 5]);
    expect(r.duplicates).toBe(3);
    expect(r.received).toBe(3);
  });

  it.each([[0], [-1], [1.5], [Number.NaN], [101]])('refuses seq %s as out of range', (seq) => {
    const r = new SeqReceipts(100);
    expect(r.mark(seq)).toBe('out-of-range');
    expect(r.received).toBe(0);
  });

  it('grows past its initial size (seqs in the thousands)', () => {
    const seqs = Array.from({ length: 5000 }, (_, i) => i + 1).reverse();
    const r = receiptsOf(seqs);
    expect(r.contiguous).toBe(5000);
    expect(r.countIn(1000, 5000)).toBe(4000);
  });

  it('counts received seqs inside a range (lo exclusive, hi inclusive)', () => {
    const r = receiptsOf([1, 2, 3, 5, 8, 9]);
    expect(r.countIn(0, 10)).toBe(6);
    expect(r.countIn(2, 8)).toBe(3);
    expect(r.countIn(3, 3)).toBe(0);
    expect(r.countIn(9, 20)).toBe(0);
  });

  it('lists missing seqs of a range as ranges', () => {
    const r = receiptsOf([1, 2, 3, 5, 8, 9]);
    expect(r.missingRanges(0, 10, 100)).toEqual({ ranges: [[4, 4], [6, 7], [10, 10]], truncated: false });
    expect(r.missingRanges(5, 9, 100)).toEqual({ ranges: [[6, 7]], truncated: false });
    expect(r.missingRanges(0, 3, 100)).toEqual({ ranges: [], truncated: false });
  });

  it('widens the last range to the end when there are more ranges than asked for', () => {
    const r = receiptsOf([1, 3, 5, 7]);
    expect(r.missingRanges(0, 9, 2)).toEqual({ ranges: [[2, 2], [4, 9]], truncated: true });
    expect(r.missingRanges(0, 9, 0)).toEqual({ ranges: [[2, 9]], truncated: true });
  });
});

describe('countAtOrBelow', () => {
  it.each([
    [[[2, 2], [6, 7]], 0, 0],
    [[[2, 2], [6, 7]], 2, 1],
    [[[2, 2], [6, 7]], 6, 2],
    [[[2, 2], [6, 7]], 100, 3],
  ] as const)('%j at cursor %i → %i', (ranges, cursor, want) => {
    expect(countAtOrBelow(ranges.map(([a, b]) => [a, b]), cursor)).toBe(want);
  });
});
