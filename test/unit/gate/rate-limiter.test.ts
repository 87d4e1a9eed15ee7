import { describe, expect, it } from 'vitest';
import { TokenBucket, WindowCounter } from '../../../runtime/gate/rate-limiter.js';

describe('TokenBucket', () => {
  it('allows a burst, then refuses until time refills it at the configured rate', () => {
    const b = new TokenBucket({ ratePerSec: 10, burst: 5 }, 0);
    const burst = Array.from({ length: 7 }, () => b.take(0));
    expect(burst).toEqual([true, true, true, true, true, false, false]);
    expect(b.take(99)).toBe(false); // 0.99 tokens
    expect(b.take(100)).toBe(true); // 1 token after 100 ms at 10/s
    expect(b.take(100)).toBe(false);
  });

  it('never holds more than the burst, however long the pause', () => {
    const b = new TokenBucket({ ratePerSec: 1000, burst: 3 }, 0);
    let granted = 0;
    for (let i = 0; i < 10; i++) if (b.take(3_600_000)) granted++;
    expect(granted).toBe(3);
  });

  it('sustains exactly the rate over a long run', () => {
    const b = new TokenBucket({ ratePerSec: 50, burst: 1 }, 0);
    let granted = 0;
    for (let t = 0; t <= 10_000; t++) if (b.take(t)) granted++; // one attempt per ms for 10 s
    expect(granted).toBe(501); // the initial token plus 50/s × 10 s
  });

  it('ignores a clock going backwards', () => {
    const b = new TokenBucket({ ratePerSec: 1, burst: 1 }, 1000);
    expect(b.take(1000)).toBe(true);
    expect(b.take(500)).toBe(false);
    expect(b.take(2000)).toBe(true);
  });
});

describe('WindowCounter', () => {
  it('allows max events per window, refuses the next, and starts over in a new window', () => {
    const w = new WindowCounter({ max: 3, windowMs: 60_000 }, 0);
    expect([w.add(1), w.add(2), w.add(3), w.add(4)]).toEqual([true, true, true, false]);
    expect(w.add(59_999)).toBe(false);
    expect(w.add(60_004)).toBe(true);
  });
});
