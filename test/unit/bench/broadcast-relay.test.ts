import { describe, expect, it } from 'vitest';
import { LineSplitter, parseRelayFrame } from '../../../runtime/bench/broadcast-relay.js';

describe('baseline relay frames', () => {
  const send = { t: 'send', o: 1, c: 7, id: 'm1', g: 'g0', from: 'u1', body: 'hi' };
  const msg = { ...send, t: 'msg', seq: 3, ts: 1_700_000_000_000 };

  it('reads send and msg frames', () => {
    expect(parseRelayFrame(JSON.stringify(send))).toEqual(send);
    expect(parseRelayFrame(JSON.stringify(msg))).toEqual(msg);
  });

  it.each([
    ['not JSON', '{"t":'],
    ['null', 'null'],
    ['unknown type', JSON.stringify({ ...send, t: 'ack' })],
    ['msg without seq', JSON.stringify({ ...msg, seq: undefined })],
    ['msg with a fractional seq', JSON.stringify({ ...msg, seq: 1.5 })],
    ['msg without ts', JSON.stringify({ ...msg, ts: 'now' })],
    ['non-integer origin', JSON.stringify({ ...send, o: '1' })],
    ['body not a string', JSON.stringify({ ...send, body: 1 })],
    ['missing group', JSON.stringify({ ...send, g: undefined })],
  ])('drops %s', (_what, line) => {
    expect(parseRelayFrame(line)).toBeNull();
  });
});

describe('relay line splitting', () => {
  it('joins lines split over chunks and splits chunks holding several', () => {
    const lines: string[] = [];
    const s = new LineSplitter(10);
    expect(s.push('ab', (l) => lines.push(l))).toBe(true);
    expect(s.push('c\nde\nf', (l) => lines.push(l))).toBe(true);
    expect(s.push('\n', (l) => lines.push(l))).toBe(true);
    expect(lines).toEqual(['abc', 'de', 'f']);
  });

  it('refuses a line over the bound, whether complete or still open', () => {
    expect(new LineSplitter(3).push('abcd\n', () => undefined)).toBe(false);
    expect(new LineSplitter(3).push('abcd', () => undefined)).toBe(false);
    expect(new LineSplitter(3).push('abc\nab', () => undefined)).toBe(true);
  });
});
