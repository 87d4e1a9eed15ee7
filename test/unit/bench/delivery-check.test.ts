import { describe, expect, it } from 'vitest';
import type { CursorLookup } from '../../../runtime/bench/cursor-reader.js';
import { judgeDeliveries } from '../../../runtime/bench/delivery-check.js';
import type { TallyReport } from '../../../runtime/bench/worker-protocol.js';

const groups = [
  { groupId: 'g1', range: [10, 20] as [number, number], online: 2 },
  { groupId: 'g2', range: [0, 5] as [number, number], online: 1 },
];

const full = (userId: string, groupId: string, received: number): TallyReport => ({ userId, groupId, received, missing: [], truncated: false });

function lookupOf(cursors: Record<string, Record<string, number>>): { lookup: CursorLookup; asked: Array<[string, string[]]> } {
  const asked: Array<[string, string[]]> = [];
  return {
    asked,
    lookup: async (wanted) => {
      for (const [g, users] of wanted) asked.push([g, [...users]]);
      return new Map([...wanted].map(([g, users]) => [g, new Map(users.map((u) => [u, cursors[g]?.[u] ?? 0]))]));
    },
  };
}

describe('judgeDeliveries', () => {
  it('expects every online member to get every measured message, and reads no cursor when all arrived', async () => {
    const { lookup, asked } = lookupOf({});
    const v = await judgeDeliveries(groups, [full('a', 'g1', 10), full('b', 'g1', 10), full('c', 'g2', 5)], lookup);
    expect(v).toEqual({ expected: 25, deliveries: 25, missing: 0, lost: 0, due: 0, cursorsChecked: true });
    expect(asked).toEqual([]);
  });

  it('counts a missing message at or below the member’s cursor as lost, above it as due', async () => {
    const short: TallyReport = { userId: 'b', groupId: 'g1', received: 7, missing: [[12, 12], [19, 20]], truncated: false };
    const { lookup, asked } = lookupOf({ g1: { b: 19 } });
    const v = await judgeDeliveries(groups, [full('a', 'g1', 10), short, full('c', 'g2', 5)], lookup);
    expect(asked).toEqual([['g1', ['b']]]);
    expect(v).toMatchObject({ expected: 25, deliveries: 22, missing: 3, lost: 2, due: 1 });
  });

  it('never counts more lost than missing, even with a widened (truncated) range', async () => {
    const short: TallyReport = { userId: 'a', groupId: 'g1', received: 8, missing: [[11, 20]], truncated: true };
    const { lookup } = lookupOf({ g1: { a: 20 } });
    const v = await judgeDeliveries(groups, [short, full('b', 'g1', 10), full('c', 'g2', 5)], lookup);
    expect(v).toMatchObject({ missing: 2, lost: 2, due: 0 });
  });

  it('counts every missing message as lost when cursors cannot be read', async () => {
    const v = await judgeDeliveries(groups, [full('a', 'g1', 10), full('b', 'g1', 4), full('c', 'g2', 5)], null);
    expect(v).toEqual({ expected: 25, deliveries: 19, missing: 6, lost: 6, due: 0, cursorsChecked: false });
  });

  it('counts online members without any report (a worker that died) as lost', async () => {
    const { lookup } = lookupOf({});
    const v = await judgeDeliveries(groups, [full('a', 'g1', 10), full('c', 'g2', 5)], lookup);
    expect(v).toMatchObject({ expected: 25, deliveries: 15, lost: 10 });
  });
});
