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

  it('backs off exponentially per key until forget', async () => {
    vi.useFakeTimers();
    try {
      const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 35 });
      const delays: number[] = [];
      for (let i = 0; i < 4; i++) {
        q.addRateLimited('a');
        let waited = 0;
        while (q.depth === 0 && waited < 1000) {
          vi.advanceTimersByTime(1);
          waited++;
        }
        delays.push(waited);
        q.done((await q.get()) ?? '');
      }
      expect(delays).toEqual([10, 20, 35, 35]);
      expect(q.retries('a')).toBe(4);
      q.forget('a');
      expect(q.retries('a')).toBe(0);
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
      const q = new WorkQueue({ baseDelayMs: 5 });
      q.add('a');
      q.done((await q.get()) ?? '');
      q.addAfter('a', 30_000); // a reconcile that waits for replicas
      q.addRateLimited('a'); // then an error on the next event
      vi.advanceTimersByTime(5);
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
