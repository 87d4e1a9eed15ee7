import { describe, expect, it } from 'vitest';
import { HashRing } from '../../../runtime/routing/hash-ring.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `logic-${i}`);
const keys = Array.from({ length: 100_000 }, (_, i) => `group-${i}`);

describe('HashRing', () => {
  it('spreads 100,000 keys over 10 nodes with the busiest at most 1.15x the mean', () => {
    const ring = new HashRing(ids(10));
    const counts = new Map<string, number>();
    for (const k of keys) {
      const o = ring.owner(k) as string;
      counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    expect(counts.size).toBe(10);
    const max = Math.max(...counts.values());
    expect(max / (keys.length / 10)).toBeLessThanOrEqual(1.15);
  });

  it('moves at most 1/11 + 2% of keys when an 11th node joins, all of them to the new node', () => {
    const before = new HashRing(ids(10));
    const after = new HashRing(ids(11));
    let moved = 0;
    for (const k of keys) {
      const a = before.owner(k);
      const b = after.owner(k);
      if (a !== b) {
        moved++;
        expect(b).toBe('logic-10');
      }
    }
    expect(moved / keys.length).toBeLessThanOrEqual(1 / 11 + 0.02);
    expect(moved).toBeGreaterThan(0);
  });

  it('moves only the removed node’s keys when a node leaves', () => {
    const before = new HashRing(ids(5));
    const after = new HashRing(ids(5).filter((id) => id !== 'logic-2'));
    for (const k of keys.slice(0, 20_000)) {
      const a = before.owner(k);
      if (a !== 'logic-2') expect(after.owner(k)).toBe(a);
      else expect(after.owner(k)).not.toBe('logic-2');
    }
  });

  it('is independent of the order nodes are given in and ignores duplicates', () => {
    const a = new HashRing(['n1', 'n2', 'n3']);
    const b = new HashRing(['n3', 'n1', 'n2', 'n1']);
    expect(b.size).toBe(3);
    for (const k of keys.slice(0, 1000)) expect(a.owner(k)).toBe(b.owner(k));
  });

  it('has no owner when empty', () => {
    expect(new HashRing([]).owner('g1')).toBeUndefined();
  });
});
