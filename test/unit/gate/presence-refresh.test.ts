import { describe, expect, it } from 'vitest';
import { PresenceRefresh, slotOf } from '../../../runtime/gate/presence-refresh.js';

const conns = Array.from({ length: 500 }, (_, i) => ({ userId: `u${i}`, connId: `conn-${i}-x` }));
const noWriter = { reassert: async () => 0 };

describe('PresenceRefresh', () => {
  it.each([
    { refreshMs: 30_000, heartbeatMs: 1000, slots: 30 },
    { refreshMs: 1000, heartbeatMs: 1000, slots: 1 },
    { refreshMs: 45_000, heartbeatMs: 15_000, slots: 3 },
  ])('rewrites every connection exactly once per round of $slots ticks', ({ refreshMs, heartbeatMs, slots }) => {
    const r = new PresenceRefresh(noWriter, { refreshMs, heartbeatMs });
    const seen = new Map<string, number>();
    for (let t = 0; t < 2 * slots; t++) for (const c of r.due(conns)) seen.set(c.connId, (seen.get(c.connId) ?? 0) + 1);
    expect(seen.size).toBe(conns.length);
    expect([...seen.values()].every((n) => n === 2)).toBe(true);
  });

  it('spreads connections over the slots', () => {
    const counts = new Array(10).fill(0) as number[];
    for (const c of conns) counts[slotOf(c.connId, 10)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(20);
  });
});
