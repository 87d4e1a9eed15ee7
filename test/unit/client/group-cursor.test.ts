import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../runtime/protocol/client-frames.js';
import { GroupCursor } from '../../../runtime/client/group-cursor.js';

const msg = (seq: number): ChatMessage => ({ groupId: 'g', seq, from: 'u', body: `m${seq}`, ts: seq });

/** One gap-fill step against a log that holds seqs trimmed+1..logEnd. Returns false when there is no gap. */
function syncStep(cursor: GroupCursor, out: number[], trimmed: number, logEnd: number, pageLimit: number): boolean {
  const range = cursor.nextSyncRange(pageLimit);
  if (range === null) return false;
  const page: ChatMessage[] = [];
  for (let s = Math.max(range.afterSeq, trimmed) + 1; s <= logEnd && page.length < range.limit; s++) page.push(msg(s));
  for (const m of cursor.applySyncPage(range.afterSeq, page)) out.push(m.seq);
  return true;
}

const scenario = fc.record({
  logEnd: fc.integer({ min: 1, max: 60 }),
  trimmedShare: fc.double({ min: 0, max: 1, noNaN: true }),
  pageLimit: fc.integer({ min: 1, max: 10 }),
  steps: fc.array(fc.oneof(fc.integer({ min: 1, max: 60 }), fc.constant('sync' as const)), { maxLength: 150 }),
});

describe('GroupCursor', () => {
  it('delivers every arrival and the retained log up to the highest arrival: each seq once, in order', () => {
    fc.assert(
      fc.property(scenario, ({ logEnd, trimmedShare, pageLimit, steps }) => {
        const trimmed = Math.floor(trimmedShare * logEnd * 0.5);
        const cursor = new GroupCursor(1000, 0);
        const out: number[] = [];
        const arrived = new Set<number>();
        for (const step of steps) {
          if (step === 'sync') {
            syncStep(cursor, out, trimmed, logEnd, pageLimit);
            continue;
          }
          // Live messages are in the log (trimming takes only old ones, long after their push).
          if (step > logEnd || step <= trimmed) continue;
          arrived.add(step);
          for (const m of cursor.offer(msg(step))) out.push(m.seq);
        }
        let guard = 0;
        while (syncStep(cursor, out, trimmed, logEnd, pageLimit)) expect(++guard).toBeLessThan(200);
        const highest = Math.max(0, ...arrived);
        // Strictly increasing: in order, each seq once.
        for (let i = 1; i < out.length; i++) expect(out[i]).toBeGreaterThan(out[i - 1]!);
        // Nothing invented: every delivered seq arrived or is in the log.
        for (const s of out) expect(arrived.has(s) || (s > trimmed && s <= logEnd)).toBe(true);
        // Nothing lost: every arrival and every retained seq up to the highest arrival.
        const delivered = new Set(out);
        for (const s of arrived) expect(delivered.has(s)).toBe(true);
        for (let s = trimmed + 1; s <= highest; s++) expect(delivered.has(s)).toBe(true);
        expect(cursor.lastSeq).toBeGreaterThanOrEqual(highest);
        expect(cursor.heldCount).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('recovers messages dropped because the held set was full', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 80 }), (maxHeld, arrivals) => {
        const cursor = new GroupCursor(maxHeld, 0);
        const out: number[] = [];
        for (const s of arrivals) for (const m of cursor.offer(msg(s))) out.push(m.seq);
        expect(cursor.heldCount).toBeLessThanOrEqual(maxHeld);
        while (syncStep(cursor, out, 0, 40, 5));
        const highest = Math.max(0, ...arrivals);
        expect(out).toEqual(Array.from({ length: highest }, (_, i) => i + 1));
      }),
    );
  });

  it('delivers what it holds, in order, when the gap cannot be filled', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 60 }), (arrivals) => {
        const cursor = new GroupCursor(1000, 0);
        const out: number[] = [];
        for (const s of arrivals) for (const m of cursor.offer(msg(s))) out.push(m.seq);
        for (const m of cursor.giveUp()) out.push(m.seq);
        expect(out).toEqual([...new Set(arrivals)].sort((a, b) => a - b));
        expect(cursor.hasGap()).toBe(false);
      }),
    );
  });

  it('takes the first message as the baseline when the app seeded nothing', () => {
    const cursor = new GroupCursor(10, null);
    expect(cursor.offer(msg(500)).map((m) => m.seq)).toEqual([500]);
    expect(cursor.offer(msg(499))).toEqual([]);
    expect(cursor.offer(msg(502))).toEqual([]);
    expect(cursor.nextSyncRange(100)).toEqual({ afterSeq: 500, limit: 1 });
  });

  it('moves past a missing range when a page brings no progress', () => {
    const cursor = new GroupCursor(10, 3);
    cursor.offer(msg(7));
    expect(cursor.nextSyncRange(100)).toEqual({ afterSeq: 3, limit: 3 });
    expect(cursor.applySyncPage(3, []).map((m) => m.seq)).toEqual([7]);
    expect(cursor.hasGap()).toBe(false);
  });

  it('reset() forgets held messages at or below the new seq', () => {
    const cursor = new GroupCursor(10, 0);
    cursor.offer(msg(3));
    cursor.offer(msg(6));
    cursor.reset(4);
    expect(cursor.heldCount).toBe(1);
    expect(cursor.nextSyncRange(100)).toEqual({ afterSeq: 4, limit: 1 });
    expect(cursor.offer(msg(5)).map((m) => m.seq)).toEqual([5, 6]);
  });
});
