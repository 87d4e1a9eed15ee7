/**
 * The verdict on every delivery of the measured phase: each online member must receive each
 * message of its group. A message a member did not receive is either still due (behind the
 * member's stored cursor: login replay, the sweep or a sync will deliver it) or lost (the cursor
 * is at or past it, so nothing will ever deliver it). Without access to Redis every missing
 * message counts as lost.
 */
import type { CursorLookup } from './cursor-reader.js';
import { countAtOrBelow, type SeqRange } from './seq-receipts.js';
import type { TallyReport } from './worker-protocol.js';

export interface GroupRange {
  groupId: string;
  /** Measured seqs are lo < seq ≤ hi. */
  range: SeqRange;
  /** Members that were connected. */
  online: number;
}

export interface DeliveryVerdict {
  /** Online members × messages of their group. */
  expected: number;
  /** Distinct (member, group, seq) deliveries of measured messages. */
  deliveries: number;
  missing: number;
  /** Missing and at or below the member's cursor: never to be delivered. */
  lost: number;
  /** Missing but still behind the member's cursor: delivered later. */
  due: number;
  /** False when cursors could not be read and every missing message was counted as lost. */
  cursorsChecked: boolean;
}

export async function judgeDeliveries(groups: readonly GroupRange[], tallies: readonly TallyReport[], lookup: CursorLookup | null): Promise<DeliveryVerdict> {
  const span = new Map(groups.map((g) => [g.groupId, g.range[1] - g.range[0]]));
  const expected = groups.reduce((n, g) => n + g.online * Math.max(0, g.range[1] - g.range[0]), 0);
  let deliveries = 0;
  const short: TallyReport[] = [];
  for (const t of tallies) {
    if (!span.has(t.groupId)) continue;
    deliveries += t.received;
    if (t.received < (span.get(t.groupId) as number)) short.push(t);
  }
  const missing = expected - deliveries;
  if (short.length === 0 || !lookup) return { expected, deliveries, missing, lost: missing, due: 0, cursorsChecked: lookup !== null || missing === 0 };
  const wanted = new Map<string, string[]>();
  for (const t of short) {
    let users = wanted.get(t.groupId);
    if (!users) wanted.set(t.groupId, (users = []));
    users.push(t.userId);
  }
  const cursors = await lookup(wanted);
  let lostOfShort = 0;
  let missingOfShort = 0;
  for (const t of short) {
    const tallyMissing = (span.get(t.groupId) as number) - t.received;
    missingOfShort += tallyMissing;
    const cursor = cursors.get(t.groupId)?.get(t.userId) ?? 0;
    lostOfShort += Math.min(tallyMissing, countAtOrBelow(t.missing, cursor));
  }
  // Members that are online but whose tally never reached the report (a worker that died) are
  // missing without a cursor check: count them as lost.
  const unreported = missing - missingOfShort;
  const lost = lostOfShort + Math.max(0, unreported);
  return { expected, deliveries, missing, lost, due: missing - lost, cursorsChecked: true };
}
