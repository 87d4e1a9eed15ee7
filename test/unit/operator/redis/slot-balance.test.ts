import { describe, expect, it } from 'vitest';
import { balanceTolerance, chooseKeepers, isBalanced, nextSlotMove, slotTargets, topSlots, type SlotHolder } from '../../../../operator/redis/slot-balance.js';
import { evenSlotRanges, normalizeSlotRanges, slotRangesWhere, type SlotRange } from '../../../../runtime/redis-cluster/slot-ranges.js';

const holder = (id: string, ordinal: number, slots: SlotRange[]): SlotHolder => ({ id, ordinal, slots, slotCount: slots.reduce((n, r) => n + r.end - r.start + 1, 0) });

/** Apply moves until balanced; returns the final holders and the slots moved. */
function rebalance(holders: SlotHolder[], keepers: Array<{ id: string; ordinal: number }>, perStep: number): { holders: SlotHolder[]; moved: number; steps: number } {
  let moved = 0;
  let steps = 0;
  for (;;) {
    const move = nextSlotMove(holders, keepers, perStep);
    if (!move) return { holders, moved, steps };
    expect(move.slots.length).toBeLessThanOrEqual(perStep);
    steps++;
    moved += move.slots.length;
    const gone = new Set(move.slots);
    const from = holders.find((h) => h.id === move.from) as SlotHolder;
    let to = holders.find((h) => h.id === move.to);
    if (!to) holders.push((to = holder(move.to, keepers.find((k) => k.id === move.to)?.ordinal ?? 99, [])));
    const fromSet = new Set<number>();
    for (const r of from.slots) for (let s = r.start; s <= r.end; s++) if (!gone.has(s)) fromSet.add(s);
    Object.assign(from, holder(from.id, from.ordinal, slotRangesWhere((s) => fromSet.has(s))));
    Object.assign(to, holder(to.id, to.ordinal, normalizeSlotRanges([...to.slots, ...move.slots.map((s) => ({ start: s, end: s }))])));
    if (steps > 10_000) throw new Error('no convergence');
  }
}

describe('slot balance', () => {
  it('chooses keepers: masters that serve slots first, then the lowest ordinals', () => {
    const c = [
      { id: 'new6', ordinal: 6, slotCount: 0 },
      { id: 'm3', ordinal: 3, slotCount: 100 },
      { id: 'm0', ordinal: 0, slotCount: 5000 },
      { id: 'new5', ordinal: 5, slotCount: 0 },
    ];
    expect(chooseKeepers(c, 3).map((k) => k.id)).toEqual(['m0', 'm3', 'new5']);
    expect(chooseKeepers(c, 1).map((k) => k.id)).toEqual(['m0']);
  });

  it('targets an even split, the lowest ordinals getting the extra slots', () => {
    expect([...slotTargets([{ id: 'b', ordinal: 1 }, { id: 'a', ordinal: 0 }, { id: 'c', ordinal: 2 }]).entries()]).toEqual([
      ['a', 5462],
      ['b', 5461],
      ['c', 5461],
    ]);
  });

  it.each([
    [3, 54],
    [5, 32],
    [10, 16],
    [200, 1],
  ])('tolerates max − min ≤ max(1, ⌊1%% of 16384/%i⌋) = %i', (keepers, tol) => {
    expect(balanceTolerance(keepers)).toBe(tol);
  });

  it('is balanced only when non-keepers serve nothing and the keepers are within the tolerance', () => {
    const even = evenSlotRanges(3).map((r, i) => holder(`m${i}`, i, [r]));
    expect(isBalanced(even, new Set(['m0', 'm1', 'm2']))).toBe(true);
    expect(isBalanced(even, new Set(['m0', 'm1']))).toBe(false);
    const skewed = [holder('m0', 0, [{ start: 0, end: 5600 }]), holder('m1', 1, [{ start: 5601, end: 10922 }]), holder('m2', 2, [{ start: 10923, end: 16383 }])];
    expect(isBalanced(skewed, new Set(['m0', 'm1', 'm2']))).toBe(false);
  });

  it('moves at most slotsPerStep slots per step from the fullest node to the emptiest keeper', () => {
    const holders = evenSlotRanges(3).map((r, i) => holder(`m${i}`, i, [r]));
    const move = nextSlotMove(holders, [...holders, { id: 'n6', ordinal: 6 }, { id: 'n7', ordinal: 7 }], 64);
    expect(move).toMatchObject({ from: 'm0', to: 'n6' });
    expect(move?.slots).toEqual(Array.from({ length: 64 }, (_, i) => 5461 - i));
    expect(move?.remaining).toBe(2 * 3276 + 1);
  });

  it('scales 3 → 5: only the slots the new masters need move, and the result is within the tolerance', () => {
    const holders = evenSlotRanges(3).map((r, i) => holder(`m${i}`, i, [r]));
    const keepers = [0, 1, 2, 6, 7].map((o) => ({ id: o < 3 ? `m${o}` : `n${o}`, ordinal: o }));
    const { holders: after, moved, steps } = rebalance(holders, keepers, 64);
    const counts = keepers.map((k) => after.find((h) => h.id === k.id)?.slotCount ?? 0);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(balanceTolerance(5));
    expect(counts.reduce((a, b) => a + b)).toBe(16384);
    expect(moved).toBe(counts[3]! + counts[4]!);
    expect(moved).toBeLessThanOrEqual(2 * 3277);
    expect(steps).toBeLessThanOrEqual(Math.ceil(moved / 64) + 4);
  });

  it('scales 5 → 3: the masters that are no keepers end with no slot', () => {
    const holders = evenSlotRanges(5).map((r, i) => holder(`m${i}`, i, [r]));
    const keepers = [0, 1, 2].map((o) => ({ id: `m${o}`, ordinal: o }));
    const { holders: after, moved } = rebalance(holders, keepers, 100);
    expect(after.find((h) => h.id === 'm3')?.slotCount).toBe(0);
    expect(after.find((h) => h.id === 'm4')?.slotCount).toBe(0);
    expect(moved).toBe(evenSlotRanges(5).slice(3).reduce((n, r) => n + r.end - r.start + 1, 0));
  });

  it('takes the highest slots of the source first', () => {
    expect(topSlots([{ start: 0, end: 2 }, { start: 10, end: 11 }], 3)).toEqual([11, 10, 2]);
  });
});
