import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectionOrder, type DeliveryOrderLimits, type OrderStep } from '../../../runtime/gate/delivery-order.js';
import type { OrderedItem } from '../../../runtime/gate/ordered-item.js';
import type { DeliveryPath } from '../../../runtime/protocol/internal-frames.js';

const LIMITS: DeliveryOrderLimits = { maxGapFill: 100, maxHeld: 10, maxTrackedGroups: 100, maxFills: 4 };

function item(seq: number, path: DeliveryPath = 'online'): OrderedItem {
  const frame = Buffer.from(`m${seq}`);
  return { seq, frame, wire: frame, path };
}

/** What a connection carried out, over every step of the order state. */
class Recorder {
  written: number[] = [];
  fills: Array<[string, number, number]> = [];
  drops: string[] = [];
  take(step: OrderStep): void {
    for (const i of step.write) this.written.push(i.seq);
    for (const f of step.fills ?? []) this.fills.push([f.groupId, f.afterSeq, f.limit]);
    for (const d of step.drops ?? []) this.drops.push(d);
  }
}

/** A connection whose login already finished. */
function ready(limits: Partial<DeliveryOrderLimits> = {}): { o: ConnectionOrder; s: Recorder } {
  const o = new ConnectionOrder({ ...LIMITS, ...limits });
  const s = new Recorder();
  s.take(o.loginDone());
  return { o, s };
}

const offer = (o: ConnectionOrder, s: Recorder, g: string, ...seqs: number[]) => {
  for (const q of seqs) s.take(o.offer(g, [item(q)], false));
};

describe('ConnectionOrder: duplicates and baseline', () => {
  it('delivers the first message of a group as the baseline and drops anything at or below the highest delivered', () => {
    const { o, s } = ready();
    offer(o, s, 'g', 7, 8, 8, 3, 9, 7);
    expect(s.written).toEqual([7, 8, 9]);
    expect(s.drops).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(o.lastSeq('g')).toBe(9);
  });

  it('orders the messages of one push offered together exactly as if offered one by one', () => {
    const { o, s } = ready();
    s.take(o.offer('g', [7, 8, 8, 9, 12].map((q) => item(q)), false));
    expect(s.written).toEqual([7, 8, 9]);
    expect(s.drops).toEqual(['duplicate']);
    expect(s.fills).toEqual([['g', 9, 2]]);
    expect(o.heldCount()).toBe(1);
  });

  it('keeps groups apart', () => {
    const { o, s } = ready();
    offer(o, s, 'a', 5);
    offer(o, s, 'b', 1);
    offer(o, s, 'a', 6);
    offer(o, s, 'b', 2);
    expect(s.written).toEqual([5, 1, 6, 2]);
    expect(s.fills).toEqual([]);
  });
});

describe('ConnectionOrder: gaps', () => {
  const decisions: Array<[string, Partial<DeliveryOrderLimits>, number, 'fill' | 'deliver']> = [
    ['a gap of 1 is fetched', {}, 12, 'fill'],
    ['a gap of exactly maxGapFill is fetched', { maxGapFill: 5 }, 16, 'fill'],
    ['a gap of maxGapFill + 1 is delivered as it is', { maxGapFill: 5 }, 17, 'deliver'],
    ['with maxGapFill 0 every gap is delivered as it is', { maxGapFill: 0 }, 12, 'deliver'],
  ];
  it.each(decisions)('%s', (_name, limits, next, decision) => {
    const { o, s } = ready(limits);
    offer(o, s, 'g', 10, next);
    if (decision === 'fill') {
      expect(s.written).toEqual([10]);
      expect(s.fills).toEqual([['g', 10, next - 11]]);
    } else {
      expect(s.written).toEqual([10, next]);
      expect(s.fills).toEqual([]);
    }
  });

  it('holds newer messages during a fetch and delivers everything in order when it returns', () => {
    const { o, s } = ready();
    offer(o, s, 'g', 1, 4, 6, 5, 5);
    expect(s.written).toEqual([1]);
    expect(s.fills).toEqual([['g', 1, 2]]);
    expect(o.heldCount()).toBe(3);
    s.take(o.fillDone('g', [item(3, 'gapfill'), item(2, 'gapfill')]));
    expect(s.written).toEqual([1, 2, 3, 4, 5, 6]);
    expect(o.heldCount()).toBe(0);
    expect(o.lastSeq('g')).toBe(6);
  });

  it('delivers the missing message directly when it arrives live during the fetch, and ignores the late fetch result', () => {
    const { o, s } = ready();
    offer(o, s, 'g', 1, 3, 2);
    expect(s.written).toEqual([1, 2, 3]);
    s.take(o.fillDone('g', [item(2, 'gapfill')]));
    expect(s.written).toEqual([1, 2, 3]);
  });

  it('fetches a second gap that opened among the held messages', () => {
    const { o, s } = ready();
    offer(o, s, 'g', 5, 8, 12);
    expect(s.fills).toEqual([['g', 5, 2]]);
    s.take(o.fillDone('g', [item(6), item(7)]));
    expect(s.written).toEqual([5, 6, 7, 8]);
    expect(s.fills).toEqual([['g', 5, 2], ['g', 8, 3]]);
    s.take(o.fillDone('g', [item(9), item(10), item(11)]));
    expect(s.written).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('delivers what it holds, in order, when the fetch fails', () => {
    const { o, s } = ready();
    offer(o, s, 'g', 1, 5, 3);
    s.take(o.fillDone('g', null));
    expect(s.written).toEqual([1, 3, 5]);
    expect(o.lastSeq('g')).toBe(5);
    offer(o, s, 'g', 4, 6);
    expect(s.written).toEqual([1, 3, 5, 6]);
  });

  it('delivers what it holds when the fetch returns nothing new (no endless re-fetching)', () => {
    const { o, s } = ready();
    offer(o, s, 'g', 1, 4);
    s.take(o.fillDone('g', []));
    expect(s.written).toEqual([1, 4]);
    expect(s.fills).toHaveLength(1);
  });

  it('bounds what it holds per group: overflow is dropped, not queued', () => {
    const { o, s } = ready({ maxHeld: 3 });
    offer(o, s, 'g', 1, 3, 4, 5, 6, 7);
    expect(o.heldCount()).toBe(3);
    expect(s.drops).toEqual(['overflow', 'overflow']);
    s.take(o.fillDone('g', [item(2)]));
    expect(s.written).toEqual([1, 2, 3, 4, 5]);
  });

  it('bounds concurrent fetches per connection: further gaps are delivered as they are', () => {
    const { o, s } = ready({ maxFills: 2 });
    for (const g of ['a', 'b', 'c']) offer(o, s, g, 1, 3);
    expect(s.fills.map((f) => f[0])).toEqual(['a', 'b']);
    expect(s.written).toEqual([1, 1, 1, 3]);
  });

  it('forgets the least recently used group beyond maxTrackedGroups', () => {
    const { o, s } = ready({ maxTrackedGroups: 2 });
    offer(o, s, 'a', 1);
    offer(o, s, 'b', 1);
    offer(o, s, 'a', 2); // a is now the most recently used
    offer(o, s, 'c', 1); // evicts b
    expect(o.lastSeq('a')).toBe(2);
    expect(o.lastSeq('b')).toBeUndefined();
    expect(o.lastSeq('c')).toBe(1);
  });

  it('keeps the recency order when one group gets many messages in a row', () => {
    const { o, s } = ready({ maxTrackedGroups: 2 });
    offer(o, s, 'a', 1, 2, 3); // a updated in place as the newest
    offer(o, s, 'b', 1, 2);
    offer(o, s, 'a', 4, 5); // a is the newest again
    offer(o, s, 'c', 1); // evicts b
    expect(o.lastSeq('a')).toBe(5);
    expect(o.lastSeq('b')).toBeUndefined();
    offer(o, s, 'c', 2, 3);
    offer(o, s, 'b', 7); // b is new again and evicts a, the least recently used
    expect(o.lastSeq('a')).toBeUndefined();
    expect(o.lastSeq('c')).toBe(3);
    expect(s.written).toEqual([1, 2, 3, 1, 2, 4, 5, 1, 2, 3, 7]);
  });
});

describe('ConnectionOrder: login', () => {
  it('sends the login backlog at once, buffers live messages until login is done, then drops what the backlog covered', () => {
    const o = new ConnectionOrder(LIMITS);
    const s = new Recorder();
    s.take(o.offer('g', [item(11, 'online')], false)); // live, arrives before the backlog
    s.take(o.offer('g', [item(9, 'offline')], true));
    s.take(o.offer('g', [item(10, 'offline')], true));
    s.take(o.offer('g', [item(12, 'online')], false));
    expect(s.written).toEqual([9, 10]);
    expect(o.isLoginPending).toBe(true);
    s.take(o.offer('g', [item(11, 'offline')], true));
    s.take(o.loginDone());
    expect(s.written).toEqual([9, 10, 11, 12]);
    expect(s.drops).toEqual(['duplicate']);
    expect(o.isLoginPending).toBe(false);
  });

  it('bounds the login buffer and recovers the dropped messages by a gap fetch afterwards', () => {
    const o = new ConnectionOrder({ ...LIMITS, maxHeld: 2 });
    const s = new Recorder();
    s.take(o.offer('g', [item(1, 'offline')], true));
    for (const q of [2, 3, 4, 5]) s.take(o.offer('g', [item(q)], false));
    expect(s.drops).toEqual(['overflow', 'overflow']);
    s.take(o.loginDone());
    expect(s.written).toEqual([1, 2, 3]);
    s.take(o.offer('g', [item(6)], false));
    expect(s.fills).toEqual([['g', 3, 2]]);
  });

  it('releases the buffer only once', () => {
    const o = new ConnectionOrder(LIMITS);
    const s = new Recorder();
    s.take(o.offer('g', [item(1)], false));
    s.take(o.loginDone());
    s.take(o.loginDone());
    expect(s.written).toEqual([1]);
  });
});

describe('ConnectionOrder.takeNext: the fast path of one live message', () => {
  type Op = { kind: 'live'; group: string; seq: number } | { kind: 'addressed'; group: string; seq: number } | { kind: 'login' } | { kind: 'fill'; group: string; seqs: number[] | null };
  const group = fc.constantFrom('a', 'b', 'c');
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('live' as const), group, seq: fc.integer({ min: 1, max: 30 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('addressed' as const), group, seq: fc.integer({ min: 1, max: 30 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('login' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('fill' as const), group, seqs: fc.option(fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 5 })) }) },
  );

  /** Run `ops` on a connection's order state the way ClientConnection does (fast path when `fast`). */
  function run(ops: readonly Op[], fast: boolean): { written: string[]; drops: string[]; fills: string[]; held: number } {
    const o = new ConnectionOrder({ ...LIMITS, maxHeld: 4, maxTrackedGroups: 2, maxFills: 2, maxGapFill: 5 });
    const written: string[] = [];
    const drops: string[] = [];
    const fills: string[] = [];
    const take = (step: OrderStep) => {
      for (const i of step.write) written.push(`${i.seq}`);
      for (const d of step.drops ?? []) drops.push(d);
      for (const f of step.fills ?? []) fills.push(`${f.groupId}:${f.afterSeq}+${f.limit}`);
    };
    for (const x of ops) {
      if (x.kind === 'login') take(o.loginDone());
      else if (x.kind === 'fill') take(o.fillDone(x.group, x.seqs?.map((q) => item(q)) ?? null));
      else if (x.kind === 'addressed') take(o.offer(x.group, [item(x.seq)], true));
      else if (fast && o.takeNext(x.group, x.seq)) written.push(`${x.seq}`);
      else take(o.offer(x.group, [item(x.seq)], false));
    }
    return { written, drops, fills, held: o.heldCount() };
  }

  it('decides exactly as offer() does, in any interleaving of pushes, login, gap fills and forgotten groups', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        expect(run(ops, true)).toEqual(run(ops, false));
      }),
      { numRuns: 500 },
    );
  });

  it('takes the next seq and declines a duplicate, a gap and anything before the login replay is done', () => {
    const o = new ConnectionOrder(LIMITS);
    expect(o.takeNext('g', 1)).toBe(false);
    o.loginDone();
    expect(o.takeNext('g', 5)).toBe(true);
    expect(o.takeNext('g', 6)).toBe(true);
    expect(o.takeNext('g', 6)).toBe(false);
    expect(o.takeNext('g', 8)).toBe(false);
    expect(o.lastSeq('g')).toBe(6);
  });
});
