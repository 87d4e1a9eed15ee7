import { describe, expect, it, vi } from 'vitest';
import { WorkQueue } from '../../../../operator/controller/work-queue.js';

describe('WorkQueue', () => {
  it('de-duplicates queued keys', async () => {
    const q = new WorkQueue();
    expect(q.add('a')).toBe(true);
    q.add('a');
    q.add('b');
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('does not hand out a key being processed; an add meanwhile queues it once after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    expect(q.depth).toBe(0);
    q.done(key ?? '');
    expect(q.depth).toBe(1);
    expect(await q.get()).toBe('a');
  });

  /** Steps fake time until the key is queued; the delay it took, in ms. */
  function delayUntilQueued(q: WorkQueue): number {
    let waited = 0;
    while (q.depth === 0 && waited < 1_000_000) {
      vi.advanceTimersByTime(1);
      waited++;
    }
    return waited;
  }

  it('backs off exponentially per key (backoff.ts: full jitter, window doubling from min to max) until forget', async () => {
    vi.useFakeTimers();
    try {
      // The top of each window (random → 1, clamped to the window), then the bottom (random → 0).
      for (const [random, expected] of [
        [() => 1, [20, 40, 50, 50]],
        [() => 0, [10, 10, 10, 10]],
      ] as const) {
        const q = new WorkQueue({ minDelayMs: 10, maxDelayMs: 50, random });
        const delays: number[] = [];
        for (let i = 0; i < 4; i++) {
          q.addRateLimited('a');
          delays.push(delayUntilQueued(q));
          q.done((await q.get()) ?? '');
        }
        expect(delays).toEqual(expected);
        expect(q.retries('a')).toBe(4);
        q.forget('a');
        expect(q.retries('a')).toBe(0);
        // Forget resets the rate limiter: the next delay is drawn from the first window again.
        q.addRateLimited('a');
        expect(delayUntilQueued(q)).toBe(expected[0]);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps a backoff per key: one key failing does not slow another', async () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue({ minDelayMs: 10, maxDelayMs: 1000, random: () => 1 });
      for (let i = 0; i < 5; i++) q.addRateLimited('a'); // the earliest (20 ms) wins
      expect(q.retries('a')).toBe(5);
      expect(delayUntilQueued(q)).toBe(20);
      const a = await q.get();
      q.addRateLimited('b');
      expect(delayUntilQueued(q)).toBe(20);
      expect(await q.get()).toBe('b');
      q.done(a ?? '');
      q.addRateLimited('a');
      expect(delayUntilQueued(q)).toBe(640);
    } finally {
      vi.useRealTimers();
    }
  });

  it('defaults to the bounds 5 ms and 300000 ms', async () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue({ random: () => 1 });
      for (let i = 0; i < 40; i++) q.addRateLimited('a'); // the earliest pending add wins: the first, due in ≤ 10 ms
      expect(delayUntilQueued(q)).toBeLessThanOrEqual(10);
      q.done((await q.get()) ?? '');
      q.addRateLimited('a');
      expect(delayUntilQueued(q)).toBe(300_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('addAfter: the earliest pending delayed add of a key wins (a 30 s requeue does not swallow a 5 ms retry)', async () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue();
      q.addAfter('a', 30_000);
      q.addAfter('a', 5);
      vi.advanceTimersByTime(5);
      expect(q.depth).toBe(1);
      expect(await q.get()).toBe('a');
      q.done('a');
      // The later timer is gone with it: nothing comes back at 30 s.
      vi.advanceTimersByTime(30_000);
      expect(q.depth).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('addAfter: a later delayed add of a key already due sooner changes nothing', () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue();
      q.addAfter('a', 5);
      q.addAfter('a', 30_000);
      vi.advanceTimersByTime(5);
      expect(q.depth).toBe(1);
      vi.advanceTimersByTime(30_000);
      expect(q.depth).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('addRateLimited after an error is not held back by a pending long requeueAfter', async () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue({ minDelayMs: 5, random: () => 1 });
      q.add('a');
      q.done((await q.get()) ?? '');
      q.addAfter('a', 30_000); // a reconcile that waits for replicas
      q.addRateLimited('a'); // then an error on the next event
      vi.advanceTimersByTime(10);
      expect(q.depth).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an add while processing is queued exactly once after done, even if added again after done', async () => {
    const q = new WorkQueue();
    const adds: number[] = [];
    const counting = new WorkQueue({ onAdd: () => adds.push(1) });
    counting.add('a');
    const a = await counting.get();
    counting.add('a');
    counting.add('a');
    expect(adds).toHaveLength(2); // the first add and the one that made it dirty again
    counting.done(a ?? '');
    counting.add('a'); // already queued
    expect(counting.depth).toBe(1);
    expect(adds).toHaveLength(2);
    // A waiting worker gets a key at once, and the key counts as processing.
    const waiting = q.get();
    q.add('b');
    expect(await waiting).toBe('b');
    q.add('b');
    expect(q.depth).toBe(0);
    q.done('b');
    expect(await q.get()).toBe('b');
  });

  it('a key being processed is never handed to a second worker', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    const second = q.get();
    q.add('a');
    q.add('b');
    expect(await second).toBe('b');
    q.done(first ?? '');
    expect(await q.get()).toBe('a');
  });

  it('a delayed add of a key being processed is queued after done', async () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue();
      q.add('a');
      const key = await q.get();
      q.addAfter('a', 5);
      vi.advanceTimersByTime(5);
      expect(q.depth).toBe(0);
      q.done(key ?? '');
      expect(q.depth).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses beyond maxDepth and hands waiters undefined on shutdown', async () => {
    const q = new WorkQueue({ maxDepth: 1 });
    expect(q.add('a')).toBe(true);
    expect(q.add('b')).toBe(false);
    await q.get();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(q.add('c')).toBe(false);
  });
});
