import { describe, expect, it } from 'vitest';
import { HEARTBEAT_SLICES, HeartbeatSlices } from '../../../runtime/gate/heartbeat-slices.js';

describe('HeartbeatSlices', () => {
  it('handles every connection exactly once per round, a share of them per slice, and marks the round start', () => {
    const h = new HeartbeatSlices(15_000);
    expect(h.sliceMs).toBe(Math.floor(15_000 / HEARTBEAT_SLICES));
    const ids = Array.from({ length: 4000 }, (_, i) => `c${i.toString(36)}-${(i * 7919).toString(16)}`);
    const handled = new Map<string, number>();
    const perSlice: number[] = [];
    const rounds: boolean[] = [];
    for (let t = 0; t < 2 * HEARTBEAT_SLICES; t++) {
      const { slice, round } = h.tick();
      rounds.push(round);
      const due = ids.filter((id) => HeartbeatSlices.inSlice(id, slice));
      perSlice.push(due.length);
      for (const id of due) handled.set(id, (handled.get(id) ?? 0) + 1);
    }
    expect([...handled.values()].every((n) => n === 2)).toBe(true);
    expect(handled.size).toBe(ids.length);
    // No slice holds the whole gate: at most twice its even share.
    expect(Math.max(...perSlice)).toBeLessThanOrEqual((2 * ids.length) / HEARTBEAT_SLICES);
    expect(rounds.filter(Boolean)).toHaveLength(2);
    expect(rounds[0]).toBe(true);
    expect(rounds[HEARTBEAT_SLICES]).toBe(true);
  });

  it('keeps a period of at least 1 ms for the shortest heartbeat', () => {
    expect(new HeartbeatSlices(1).sliceMs).toBe(1);
    expect(new HeartbeatSlices(200).sliceMs).toBe(12);
  });
});
