import { describe, expect, it } from 'vitest';
import { countSlots, evenSlotRanges, formatSlotRanges, normalizeSlotRanges, slotRangesWhere } from '../../../runtime/redis-cluster/slot-ranges.js';

describe('evenSlotRanges', () => {
  it.each([1, 2, 3, 5, 7, 10, 16, 100, 1000, 16384])('splits 16384 slots over %i masters contiguously, sizes differing by at most one', (n) => {
    const ranges = evenSlotRanges(n);
    expect(ranges).toHaveLength(n);
    expect(ranges[0]?.start).toBe(0);
    expect(ranges[n - 1]?.end).toBe(16383);
    for (let i = 1; i < n; i++) expect(ranges[i]?.start).toBe((ranges[i - 1]?.end as number) + 1);
    const sizes = ranges.map((r) => r.end - r.start + 1);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(countSlots(ranges)).toBe(16384);
  });

  it('gives 3 masters 5462, 5461 and 5461 slots', () => {
    expect(evenSlotRanges(3)).toEqual([{ start: 0, end: 5461 }, { start: 5462, end: 10922 }, { start: 10923, end: 16383 }]);
  });

  it.each([0, -1, 1.5, 16385, NaN])('rejects %s masters', (n) => {
    expect(() => evenSlotRanges(n)).toThrow(RangeError);
  });
});

describe('slot range helpers', () => {
  it('normalises: sorts and merges overlapping and adjacent ranges', () => {
    expect(normalizeSlotRanges([{ start: 10, end: 20 }, { start: 0, end: 4 }, { start: 5, end: 6 }, { start: 15, end: 30 }, { start: 40, end: 40 }])).toEqual([
      { start: 0, end: 6 },
      { start: 10, end: 30 },
      { start: 40, end: 40 },
    ]);
  });

  it('collects the ranges of a predicate, including the last slot', () => {
    expect(slotRangesWhere((s) => s < 3 || s === 100 || s > 16380)).toEqual([{ start: 0, end: 2 }, { start: 100, end: 100 }, { start: 16381, end: 16383 }]);
    expect(slotRangesWhere(() => false)).toEqual([]);
  });

  it('formats ranges for messages', () => {
    expect(formatSlotRanges([{ start: 0, end: 5460 }, { start: 7, end: 7 }])).toBe('0-5460,7');
    expect(formatSlotRanges([])).toBe('(none)');
  });
});
