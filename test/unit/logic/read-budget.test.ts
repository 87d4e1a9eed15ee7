import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProtocolError } from '../../../runtime/protocol/errors.js';
import { type Lease, ReadBudget } from '../../../runtime/logic/read-budget.js';

function budget(maxBytes: number, waitMs = 1000) {
  const counts = { immediate: 0, waited: 0, refused: 0 };
  const b = new ReadBudget({ maxBytes, waitMs }, { admitted: (how) => counts[how]++, refused: () => counts.refused++ });
  return { b, counts };
}

/** Settle the promise callbacks queued so far (no timers run). */
const settled = () => new Promise<void>((r) => queueMicrotask(r));

describe('ReadBudget', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('admits reads at once while they fit, and counts the bytes in flight', async () => {
    const { b, counts } = budget(100);
    const l1 = await b.acquire(60);
    const l2 = await b.acquire(40);
    expect(b.inFlight).toBe(100);
    l1.release();
    l1.release();
    expect(b.inFlight).toBe(40);
    l2.release();
    expect(b.inFlight).toBe(0);
    expect(counts).toEqual({ immediate: 2, waited: 0, refused: 0 });
  });

  it('makes a read that does not fit wait until bytes are released, first come first served', async () => {
    const { b, counts } = budget(100);
    const held = await b.acquire(90);
    const order: string[] = [];
    const big = b.acquire(50).then((l) => (order.push('big'), l));
    const small = b.acquire(5).then((l) => (order.push('small'), l));
    await settled();
    // 5 bytes would fit, but the 50-byte read came first: nothing overtakes it.
    expect(order).toEqual([]);
    expect(b.waiting).toBe(2);
    held.release();
    const leases: Lease[] = await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
    expect(b.inFlight).toBe(55);
    expect(counts).toEqual({ immediate: 1, waited: 2, refused: 0 });
    for (const l of leases) l.release();
  });

  it('refuses a read with UNAVAILABLE after waitMs, and lets the reads behind it go on', async () => {
    const { b, counts } = budget(100, 250);
    const held = await b.acquire(60);
    const big = b.acquire(80);
    const refusal = expect(big).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/IMGROUP_LOGIC_LOG_READ_MAX_BYTES/) });
    await vi.advanceTimersByTimeAsync(100);
    const small = b.acquire(30);
    await vi.advanceTimersByTimeAsync(150);
    await refusal;
    await expect(big).rejects.toBeInstanceOf(ProtocolError);
    // The small read was queued behind the big one; with the big one gone it fits at once.
    const l = await small;
    expect(b.inFlight).toBe(90);
    expect(counts).toEqual({ immediate: 1, waited: 1, refused: 1 });
    l.release();
    held.release();
  });

  it('grants a read larger than the whole budget only while nothing else is in flight', async () => {
    const { b } = budget(100);
    const alone = await b.acquire(500);
    expect(b.inFlight).toBe(500);
    const next = b.acquire(1);
    await settled();
    expect(b.waiting).toBe(1);
    alone.release();
    (await next).release();
    const held = await b.acquire(10);
    const oversize = b.acquire(500);
    await settled();
    expect(b.waiting).toBe(1);
    held.release();
    (await oversize).release();
    expect(b.inFlight).toBe(0);
  });

  it('stops waiting when the request is aborted', async () => {
    const { b, counts } = budget(100);
    const held = await b.acquire(100);
    const abort = new AbortController();
    const waiting = b.acquire(10, abort.signal);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(b.waiting).toBe(0);
    await expect(b.acquire(10, abort.signal)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(counts.refused).toBe(2);
    held.release();
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects a reservation of %s bytes', async (bytes) => {
    await expect(budget(100).b.acquire(bytes)).rejects.toBeInstanceOf(RangeError);
  });
});
