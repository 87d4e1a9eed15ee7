import { describe, expect, it } from 'vitest';
import { placeReplicas, placementPenalty, type PlacementNode } from '../../../../operator/redis/replica-placement.js';

const node = (ordinal: number, domain: string | null = null): PlacementNode => ({ key: `p${ordinal}`, ordinal, domain });
const masters = (n: number, domain: (i: number) => string | null = () => null) => Array.from({ length: n }, (_, i) => ({ ...node(i, domain(i)), replicas: [] }));

describe('placeReplicas', () => {
  it('with nothing known, keeps a replica off its master’s ordinal class: 3 → 1, 4 → 2, 5 → 0', () => {
    expect(placeReplicas(masters(3), [node(3), node(4), node(5)], 1, 3)).toEqual([
      { replica: 'p3', master: 'p1' },
      { replica: 'p4', master: 'p2' },
      { replica: 'p5', master: 'p0' },
    ]);
  });

  it('with two replicas each, no master shares an ordinal class with one of its replicas, nor two replicas with each other', () => {
    const placed = placeReplicas(masters(3), [3, 4, 5, 6, 7, 8].map((o) => node(o)), 2, 3);
    expect(placed).toHaveLength(6);
    for (const m of [0, 1, 2]) {
      const classes = [m, ...placed.filter((p) => p.master === `p${m}`).map((p) => Number(p.replica.slice(1)))].map((o) => o % 3);
      expect(new Set(classes).size).toBe(3);
    }
  });

  it('keeps every master at ⌊R/M⌋ or ⌈R/M⌉ replicas and never beyond perMaster (spares left over stay unplaced)', () => {
    const placed = placeReplicas(masters(3), [3, 4, 5, 6, 7].map((o) => node(o)), 1, 3);
    expect(placed).toHaveLength(3);
    expect(new Set(placed.map((p) => p.master)).size).toBe(3);
  });

  it('puts a replica in another failure domain than its master when domains are known, ordinal rule second', () => {
    // Masters on k8s nodes n0, n1, n2; replicas 3, 4, 5 on n1, n2, n0: the ordinal rule alone would pair 3 with 1 (same node).
    const ms = masters(3, (i) => `n${i}`);
    const placed = placeReplicas(ms, [node(3, 'n1'), node(4, 'n2'), node(5, 'n0')], 1, 3);
    for (const p of placed) {
      const replicaDomain = { p3: 'n1', p4: 'n2', p5: 'n0' }[p.replica as 'p3'];
      expect(`n${p.master.slice(1)}`).not.toBe(replicaDomain);
    }
  });

  it('fills the master that lacks replicas first', () => {
    const ms = [{ ...node(0), replicas: [node(3)] }, { ...node(1), replicas: [] }, { ...node(2), replicas: [node(5)] }];
    expect(placeReplicas(ms, [node(4)], 1, 3)).toEqual([{ replica: 'p4', master: 'p1' }]);
  });

  it.each([
    ['same known domain', { ...node(0, 'a'), replicas: [] }, node(4, 'a'), 4],
    ['master already has a replica in that domain', { ...node(0, 'a'), replicas: [node(5, 'b')] }, node(4, 'b'), 2],
    ['congruent ordinals', { ...node(0), replicas: [] }, node(3), 1],
    ['congruent with a sibling replica', { ...node(0), replicas: [node(4)] }, node(7), 1],
    ['nothing shared', { ...node(0, 'a'), replicas: [] }, node(4, 'b'), 0],
  ])('penalty: %s', (_name, master, replica, penalty) => {
    expect(placementPenalty(master, replica, 3)).toBe(penalty);
  });
});
