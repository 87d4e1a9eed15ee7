import { describe, expect, it } from 'vitest';
import { assignConnections, buildPopulation, onlineCount, senderQuotas, split } from '../../../runtime/bench/population.js';
import { isValidId } from '../../../runtime/protocol/ids.js';

describe('benchmark population', () => {
  it.each([
    [1000, 0.5, 500],
    [50, 0.5, 25],
    [3, 0.5, 2],
    [10, 0.01, 1],
    [7, 1, 7],
  ])('a group of %i at %f has %i online members', (size, fraction, want) => {
    expect(onlineCount(size, fraction)).toBe(want);
  });

  it('gives every group its own valid ids, online members first and senders among them', () => {
    const groups = buildPopulation({ runId: 'b1x', groups: 3, groupSize: 10, online: 0.4, senders: 2 });
    expect(groups).toHaveLength(3);
    const users = groups.flatMap((g) => g.members);
    expect(new Set(users).size).toBe(30);
    expect([...users, ...groups.map((g) => g.groupId)].every(isValidId)).toBe(true);
    for (const g of groups) {
      expect(g.online).toEqual(g.members.slice(0, 4));
      expect(g.senders).toEqual(g.online.slice(0, 2));
    }
  });

  it('splits totals into near-equal parts that add up', () => {
    expect(split(10, 3)).toEqual([4, 3, 3]);
    expect(split(2, 4)).toEqual([1, 1, 0, 0]);
    expect(split(5, 0)).toEqual([]);
  });

  it('spreads messages over groups and senders, adding up to the total', () => {
    const groups = buildPopulation({ runId: 'b', groups: 3, groupSize: 20, online: 0.5, senders: 4 });
    const quotas = senderQuotas(groups, 1001);
    expect(quotas.reduce((n, q) => n + q.count, 0)).toBe(1001);
    expect(Math.max(...quotas.map((q) => q.count)) - Math.min(...quotas.map((q) => q.count))).toBeLessThanOrEqual(1);
    expect(quotas.every((q) => groups.find((g) => g.groupId === q.groupId)?.senders.includes(q.userId))).toBe(true);
  });

  it('spreads connections over workers and, independently, over gates', () => {
    const groups = buildPopulation({ runId: 'b', groups: 1, groupSize: 40, online: 1, senders: 1 });
    const perWorker = assignConnections(groups, 2, 2);
    expect(perWorker.map((w) => w.length)).toEqual([20, 20]);
    for (const w of perWorker) expect(new Set(w.map((c) => c.endpoint))).toEqual(new Set([0, 1]));
    expect(perWorker.flat().map((c) => c.userId).sort()).toEqual([...groups[0]!.online].sort());
  });
});
