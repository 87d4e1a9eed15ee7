import { describe, expect, it } from 'vitest';
import { MAX_SHORT_MASTERS, ShortMasters } from '../../../runtime/redis/short-masters.js';

describe('ShortMasters', () => {
  it('admits every call to a master not known short', () => {
    const s = new ShortMasters();
    expect([s.admit('a:1'), s.admit('a:1'), s.admit('a:1')]).toEqual([true, true, true]);
    s.settled('a:1', 'enough');
    expect(s.size).toBe(0);
  });

  it('after a short WAIT admits one probe at a time until a probe gets enough acknowledgements', () => {
    const s = new ShortMasters();
    s.admit('a:1');
    s.settled('a:1', 'short');
    expect(s.admit('a:1')).toBe(true); // the probe
    expect([s.admit('a:1'), s.admit('a:1')]).toEqual([false, false]);
    expect(s.admit('b:2')).toBe(true); // other masters are not affected
    s.settled('a:1', 'short'); // the probe fell short too: still short, next call probes
    expect(s.admit('a:1')).toBe(true);
    expect(s.admit('a:1')).toBe(false);
    s.settled('a:1', 'enough');
    expect([s.admit('a:1'), s.admit('a:1')]).toEqual([true, true]);
  });

  it('a probe that failed (no WAIT answer) frees the probe slot but keeps the master short', () => {
    const s = new ShortMasters();
    s.settled('a:1', 'short');
    expect(s.admit('a:1')).toBe(true);
    s.settled('a:1', 'failed');
    expect(s.admit('a:1')).toBe(true);
    expect(s.admit('a:1')).toBe(false);
  });

  it('a failed call to a master not known short changes nothing', () => {
    const s = new ShortMasters();
    expect(s.admit('a:1')).toBe(true);
    s.settled('a:1', 'failed');
    expect(s.size).toBe(0);
    expect([s.admit('a:1'), s.admit('a:1')]).toEqual([true, true]);
  });

  it(`remembers at most ${MAX_SHORT_MASTERS} masters, forgetting the oldest`, () => {
    const s = new ShortMasters();
    for (let i = 0; i <= MAX_SHORT_MASTERS; i++) s.settled(`m:${i}`, 'short');
    expect(s.size).toBe(MAX_SHORT_MASTERS);
    expect([s.admit('m:0'), s.admit('m:0')]).toEqual([true, true]); // forgotten: not short any more
    expect([s.admit(`m:${MAX_SHORT_MASTERS}`), s.admit(`m:${MAX_SHORT_MASTERS}`)]).toEqual([true, false]);
  });

  it('says which masters are short without admitting anything', () => {
    const s = new ShortMasters();
    expect(s.isShort('a:1')).toBe(false);
    s.settled('a:1', 'short');
    expect(s.isShort('a:1')).toBe(true);
    expect(s.admit('a:1')).toBe(true); // isShort did not take the probe's turn
    s.settled('a:1', 'enough');
    expect(s.isShort('a:1')).toBe(false);
  });
});
