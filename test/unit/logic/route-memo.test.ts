import { describe, expect, it } from 'vitest';
import { RouteMemo, type RouteStamp } from '../../../runtime/logic/route-memo.js';

const members = ['a', 'b'];
const stamp = (over: Partial<RouteStamp> = {}): RouteStamp => ({ members, presenceChanges: 1, linksGeneration: 1, ...over });

describe('RouteMemo', () => {
  it('answers only for the exact stamp it was computed from, and only until the oldest entry’s TTL ran out', () => {
    const memo = new RouteMemo<string>(100);
    memo.set('g', stamp(), 1000, 10, 'routes', 2);
    expect(memo.get('g', stamp(), 999)).toEqual({ routes: 'routes', readAtMs: 10 });
    expect(memo.get('g', stamp(), 1000)).toBeUndefined();
    expect(memo.get('g', stamp({ members: [...members] }), 0)).toBeUndefined();
    expect(memo.get('g', stamp({ presenceChanges: 2 }), 0)).toBeUndefined();
    expect(memo.get('g', stamp({ linksGeneration: 2 }), 0)).toBeUndefined();
    expect(memo.get('other', stamp(), 0)).toBeUndefined();
    expect([memo.hits, memo.misses]).toEqual([1, 5]);
  });

  it('holds at most maxUsers routed users, forgetting groups not used since they were last considered first', () => {
    const memo = new RouteMemo<string>(10);
    memo.set('a', stamp(), 1e9, 0, 'A', 4);
    memo.set('b', stamp(), 1e9, 0, 'B', 4);
    expect(memo.get('a', stamp(), 0)).toBeDefined();
    memo.set('c', stamp(), 1e9, 0, 'C', 4);
    expect(memo.users).toBeLessThanOrEqual(10);
    expect(memo.get('b', stamp(), 0)).toBeUndefined();
    expect(memo.get('a', stamp(), 0)).toBeDefined();
    expect(memo.get('c', stamp(), 0)).toBeDefined();
    memo.set('huge', stamp(), 1e9, 0, 'H', 11);
    expect(memo.get('huge', stamp(), 0)).toBeUndefined();
    expect(memo.users).toBe(8);
  });

  it('with maxUsers 0 keeps nothing', () => {
    const memo = new RouteMemo<string>(0);
    memo.set('g', stamp(), 1e9, 0, 'R', 1);
    expect(memo.size).toBe(0);
  });
});
