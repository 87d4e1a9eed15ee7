import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ThrottledLog } from '../../../runtime/ops/throttled-log.js';
import { captureLog } from '../../support/log-capture.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ThrottledLog', () => {
  it('logs the first of 200 events at once and the other 199 in one line when the interval ends', () => {
    const { log, lines } = captureLog();
    const t = new ThrottledLog(log, 10_000);
    for (let i = 0; i < 200; i++) t.event('wrong_token', { remote: `10.0.0.${i % 5}` }, 'internal link refused');
    expect(lines()).toEqual([expect.objectContaining({ level: 40, kind: 'wrong_token', remote: '10.0.0.0', msg: 'internal link refused' })]);
    vi.advanceTimersByTime(10_000);
    expect(lines()).toHaveLength(2);
    expect(lines()[1]).toMatchObject({ kind: 'wrong_token', suppressed: 199, intervalMs: 10_000, remote: '10.0.0.4', msg: 'internal link refused (199 more not logged)' });
    // Quiet for a whole interval: the window closes, and the next event is logged at once.
    vi.advanceTimersByTime(10_000);
    expect(lines()).toHaveLength(2);
    t.event('wrong_token', {}, 'internal link refused');
    expect(lines()).toHaveLength(3);
    t.close();
  });

  it('writes one line per interval for a steady flood, whatever its rate', () => {
    const { log, lines } = captureLog();
    const t = new ThrottledLog(log, 1000);
    for (let ms = 0; ms < 60_000; ms += 1) {
      t.event('auth_invalid', {}, 'refused');
      vi.advanceTimersByTime(1);
    }
    expect(lines().length).toBeGreaterThanOrEqual(60);
    expect(lines().length).toBeLessThanOrEqual(61);
    // Every event is in the log: logged itself, or counted in a summary line.
    expect(lines().reduce((n, l) => n + (l.suppressed ?? 1), 0)).toBe(60_000);
    t.close();
  });

  it('keeps kinds apart', () => {
    const { log, lines } = captureLog();
    const t = new ThrottledLog(log, 1000);
    for (const kind of ['a', 'b', 'a', 'b', 'c']) t.event(kind, {}, kind);
    expect(lines().map((l) => l.kind)).toEqual(['a', 'b', 'c']);
    t.close();
  });

  it('logs every event with interval 0', () => {
    const { log, lines } = captureLog();
    const t = new ThrottledLog(log, 0);
    for (let i = 0; i < 5; i++) t.event('a', {}, 'x');
    expect(lines()).toHaveLength(5);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('on close, logs what is pending, leaves no timer and ignores later events', () => {
    const { log, lines } = captureLog();
    const t = new ThrottledLog(log, 60_000, 'info');
    for (let i = 0; i < 3; i++) t.event('a', {}, 'x');
    t.close();
    expect(lines().map((l) => [l.level, l.suppressed])).toEqual([
      [30, undefined],
      [30, 2],
    ]);
    expect(vi.getTimerCount()).toBe(0);
    t.event('a', {}, 'x');
    expect(lines()).toHaveLength(2);
  });
});
