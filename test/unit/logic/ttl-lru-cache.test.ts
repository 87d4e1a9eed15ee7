import { describe, expect, it } from 'vitest';
import { TtlLruCache } from '../../../runtime/logic/ttl-lru-cache.js';

interface Value {
  kind: 'a' | 'b';
  bytes: number;
}

function cache(opts: { ttlMs?: number; maxEntries?: number; maxBytes?: number } = {}) {
  const clock = { ms: 1000 };
  const evicted: string[] = [];
  const c = new TtlLruCache<Value, 'a' | 'b'>({
    ttlMs: opts.ttlMs ?? 100,
    maxEntries: opts.maxEntries ?? 1000,
    maxBytes: opts.maxBytes ?? 1_000_000,
    sizeOf: (_key, v) => v.bytes,
    now: () => clock.ms,
    onEvict: (kind) => evicted.push(kind),
  });
  return { c, clock, evicted };
}

const v = (bytes = 10, kind: 'a' | 'b' = 'a'): Value => ({ kind, bytes });

describe('TtlLruCache', () => {
  it('answers hit before the TTL, stale from the TTL on (and drops the entry), miss when never stored', () => {
    const { c, clock } = cache({ ttlMs: 100 });
    expect(c.get('a', 'x').state).toBe('miss');
    c.set('a', 'x', v());
    clock.ms += 99;
    expect(c.get('a', 'x')).toMatchObject({ state: 'hit', storedAtMs: 1000 });
    clock.ms += 1;
    expect(c.get('a', 'x').state).toBe('stale');
    expect(c.get('a', 'x').state).toBe('miss');
    expect(c.size).toBe(0);
  });

  it('keeps kinds apart: the same id under two kinds is two entries', () => {
    const { c } = cache();
    c.set('a', 'x', v(1, 'a'));
    c.set('b', 'x', v(2, 'b'));
    expect(c.peek('a', 'x')).toEqual(v(1, 'a'));
    expect(c.peek('b', 'x')).toEqual(v(2, 'b'));
    expect([c.size, c.count('a'), c.count('b')]).toEqual([2, 1, 1]);
    expect(c.delete('a', 'x')).toBe(true);
    expect(c.peek('b', 'x')).toEqual(v(2, 'b'));
  });

  it('counts the TTL from the read time given to set, and update keeps it', () => {
    const { c, clock } = cache({ ttlMs: 100 });
    c.set('a', 'x', v(), 950);
    clock.ms += 40;
    expect(c.update('a', 'x', v(20))).toBe(true);
    expect(c.get('a', 'x')).toMatchObject({ state: 'hit', value: { bytes: 20 } });
    clock.ms += 10;
    expect(c.get('a', 'x').state).toBe('stale');
    expect(c.update('a', 'nope', v())).toBe(false);
  });

  it('peeks without counting a use and without returning stale values', () => {
    const { c, clock } = cache({ ttlMs: 100, maxEntries: 2 });
    c.set('a', 'x', v());
    c.set('b', 'y', v());
    expect(c.peek('a', 'x')).toEqual(v());
    c.set('a', 'z', v()); // x was only peeked: it is still the least recently used
    expect(c.peek('a', 'x')).toBeUndefined();
    clock.ms += 100;
    expect(c.peek('b', 'y')).toBeUndefined();
  });

  it('evicts the least recently used entry beyond maxEntries, giving used entries a second chance', () => {
    const { c, evicted } = cache({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) c.set('a', k, v());
    expect(c.get('a', 'a').state).toBe('hit');
    c.set('a', 'd', v()); // a was used: b goes
    expect(['a', 'b', 'c', 'd'].map((k) => c.peek('a', k) !== undefined)).toEqual([true, false, true, true]);
    c.set('a', 'e', v()); // a moved behind d: c is now the oldest and unused
    expect(['a', 'c', 'd', 'e'].map((k) => c.peek('a', k) !== undefined)).toEqual([true, false, true, true]);
    expect(c.size).toBe(3);
    expect(evicted).toEqual(['a', 'a']);
  });

  it('evicts beyond maxBytes, recomputes bytes on update, and refuses a value larger than the bound', () => {
    const { c, evicted } = cache({ maxBytes: 100 });
    c.set('a', 'x', v(40));
    c.set('b', 'y', v(40, 'b'));
    expect(c.bytes).toBe(80);
    c.set('a', 'z', v(30)); // 110 > 100: x (oldest) goes
    expect(c.peek('a', 'x')).toBeUndefined();
    expect(c.bytes).toBe(70);
    c.update('a', 'z', v(70)); // 110 again: y goes
    expect(c.peek('b', 'y')).toBeUndefined();
    expect(c.bytes).toBe(70);
    expect(c.set('a', 'huge', v(101))).toBe(false);
    expect(c.peek('a', 'huge')).toBeUndefined();
    expect(evicted).toEqual(['a', 'b']);
  });

  it('counts entries per kind through set, replace, delete, stale and deleteWhere', () => {
    const { c, clock } = cache({ ttlMs: 100 });
    c.set('a', 'a1', v(1, 'a'));
    c.set('a', 'a2', v(1, 'a'));
    c.set('b', 'b1', v(1, 'b'));
    c.set('a', 'a1', v(2, 'a'));
    expect([c.count('a'), c.count('b'), c.bytes]).toEqual([2, 1, 4]);
    expect(c.delete('a', 'a2')).toBe(true);
    expect(c.delete('a', 'a2')).toBe(false);
    expect(c.deleteWhere((kind) => kind === 'b')).toBe(1);
    expect([c.count('a'), c.count('b')]).toEqual([1, 0]);
    clock.ms += 100;
    c.get('a', 'a1');
    expect([c.count('a'), c.size, c.bytes]).toEqual([0, 0, 0]);
  });

  it('rejects bounds that make no sense', () => {
    const base = { maxEntries: 1, maxBytes: 1, sizeOf: () => 1, now: () => 0 };
    expect(() => new TtlLruCache<number, 'a'>({ ...base, ttlMs: 0 })).toThrow(RangeError);
    expect(() => new TtlLruCache<number, 'a'>({ ...base, ttlMs: 1, maxEntries: 0 })).toThrow(RangeError);
  });
});
