import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from '../../../../operator/api/duration.js';

describe('parseDurationMs', () => {
  it.each([
    ['168h', 168 * 3_600_000],
    ['1m', 60_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['250ms', 250],
    ['1m1ms', 60_001],
    ['8760h', 365 * 24 * 3_600_000],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', '7d', '1.5h', '-1h', '1 h', 'h', '10', '1H', '1h ', '1234567890h'])('rejects %j', (text) => {
    expect(parseDurationMs(text)).toBeNull();
  });
});

describe('formatDurationMs', () => {
  it.each([
    [168 * 3_600_000, '168h'],
    [60_000, '1m'],
    [90_000, '90s'],
    [5_400_000, '90m'],
    [1001, '1001ms'],
    [0, '0ms'],
  ])('%d ms = %s', (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
    expect(parseDurationMs(text)).toBe(ms);
  });

  it('rejects what is not a whole number of milliseconds', () => {
    expect(() => formatDurationMs(1.5)).toThrow(RangeError);
    expect(() => formatDurationMs(-1)).toThrow(RangeError);
  });
});
