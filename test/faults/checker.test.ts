/** The fault suite's checker itself: each kind of failure it exists to catch is counted. */
import { describe, expect, it } from 'vitest';
import { DeliveryChecker } from './support/checker.js';

function twoMembers(): DeliveryChecker {
  const c = new DeliveryChecker();
  c.addMember('g', 'a');
  c.addMember('g', 'b');
  for (let s = 1; s <= 3; s++) c.sent('g', s, `m${s}`, 0, 1);
  return c;
}

describe('DeliveryChecker', () => {
  const heads = new Map([['g', 3]]);
  it.each([
    {
      name: 'all delivered',
      feed: (c: DeliveryChecker) => {
        for (const u of ['a', 'b']) for (let s = 1; s <= 3; s++) c.received(u, 'g', s, `m${s}`);
      },
      want: { lost: 0, gappedMembers: 0, duplicates: 0, mismatched: 0, delivered: 6 },
    },
    {
      name: 'one member misses seq 2',
      feed: (c: DeliveryChecker) => {
        for (let s = 1; s <= 3; s++) c.received('a', 'g', s, `m${s}`);
        for (const s of [1, 3]) c.received('b', 'g', s, `m${s}`);
      },
      want: { lost: 1, gappedMembers: 1, duplicates: 0, mismatched: 0, delivered: 5 },
    },
    {
      name: 'a duplicate and a changed body',
      feed: (c: DeliveryChecker) => {
        for (const u of ['a', 'b']) for (let s = 1; s <= 3; s++) c.received(u, 'g', s, `m${s}`);
        c.received('a', 'g', 3, 'm3');
        c.received('b', 'g', 2, 'other');
      },
      want: { lost: 0, gappedMembers: 0, duplicates: 2, mismatched: 1, delivered: 6 },
    },
  ])('$name', ({ feed, want }) => {
    const c = twoMembers();
    feed(c);
    expect(c.verdict(heads)).toMatchObject({ accepted: 3, expected: 6, ...want });
    expect(c.caughtUp(heads)).toBe(want.gappedMembers === 0);
  });

  it('counts error codes and failed sends; recovery is per group from the first send written after the fault', () => {
    const c = twoMembers();
    c.addMember('h', 'a');
    c.sendFailed('TIMEOUT');
    c.codeSeen('INTERNAL');
    c.sent('g', 4, 'm4', 100, 150);
    c.sent('g', 5, 'm5', 90, 140); // written before the fault: does not count
    c.sent('g', 5, 'other', 95, 145);
    expect(c.verdict(heads)).toMatchObject({ rejected: { TIMEOUT: 1 }, reusedSeqs: 1, codes: { TIMEOUT: 1, INTERNAL: 1 } });
    expect(Object.fromEntries(c.firstAcceptedSince(100))).toEqual({ g: 150, h: null });
  });
});
