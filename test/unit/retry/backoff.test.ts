import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelayMs } from '../../../runtime/retry/backoff.js';

const bounds = fc
  .tuple(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 10_000_000 }))
  .map(([a, b]) => ({ minMs: Math.min(a, b), maxMs: Math.max(a, b) }));
const attempt = fc.integer({ min: 0, max: 10_000 });
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoffDelayMs', () => {
  it('stays within [minMs, maxMs] and within the exponential window of the attempt', () => {
    fc.assert(
      fc.property(bounds, attempt, random, (b, n, r) => {
        const d = backoffDelayMs(n, b, () => r);
        expect(Number.isInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(b.minMs);
        expect(d).toBeLessThanOrEqual(b.maxMs);
        expect(d).toBeLessThanOrEqual(Math.max(b.minMs, b.minMs * 2 ** (Math.min(n, 31) + 1)));
      }),
    );
  });

  it('grows with the attempt for the same draw (full jitter over a doubling window)', () => {
    fc.assert(
      fc.property(bounds, attempt, random, (b, n, r) => {
        expect(backoffDelayMs(n + 1, b, () => r)).toBeGreaterThanOrEqual(backoffDelayMs(n, b, () => r));
      }),
    );
  });

  it('spans the whole window: the lowest draw gives minMs, the highest nearly the ceiling', () => {
    const b = { minMs: 100, maxMs: 10_000 };
    expect(backoffDelayMs(0, b, () => 0)).toBe(100);
    expect(backoffDelayMs(0, b, () => 0.999_999)).toBe(199);
    expect(backoffDelayMs(3, b, () => 0.999_999)).toBe(1599);
    expect(backoffDelayMs(50, b, () => 0.999_999)).toBe(9999);
  });

  it('tolerates out-of-range draws and attempts', () => {
    const b = { minMs: 10, maxMs: 1000 };
    for (const r of [-1, 1, 2, Number.NaN]) {
      const d = backoffDelayMs(5, b, () => r);
      expect(d >= 10 && d <= 1000).toBe(true);
    }
    expect(backoffDelayMs(-3, b, () => 0)).toBe(10);
    expect(backoffDelayMs(Number.POSITIVE_INFINITY, b, () => 0.5)).toBeLessThanOrEqual(1000);
    expect(backoffDelayMs(Number.NaN, b, () => 0)).toBe(10);
  });
});

describe('Backoff', () => {
  it('counts attempts, widens the window per attempt and starts again after reset', () => {
    const b = new Backoff({ minMs: 100, maxMs: 1000 }, () => 0.999999);
    expect([b.next(), b.next(), b.next(), b.next()]).toEqual([199, 399, 799, 999]);
    expect(b.attempts).toBe(4);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(199);
  });

  it('agrees with backoffDelayMs for the same draws', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: 1, maxLength: 40 }), (draws) => {
        let i = 0;
        const b = new Backoff({ minMs: 5, maxMs: 30_000 }, () => draws[i] ?? 0);
        for (i = 0; i < draws.length; i++) expect(b.next()).toBe(backoffDelayMs(i, { minMs: 5, maxMs: 30_000 }, () => draws[i] ?? 0));
      }),
    );
  });
});
