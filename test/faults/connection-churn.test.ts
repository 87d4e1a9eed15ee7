/**
 * 100 rounds of connect/disconnect churn next to a steady load leave nothing behind in the gates
 * and logic nodes: the gates' connection gauge returns to its baseline, libuv handles and pending
 * timers return to theirs (within a small allowance for requests in flight at the sample), and the
 * heap after a forced full GC grows by less than HEAP_TOLERANCE. The load's messages are checked
 * as in every fault scenario (nothing accepted lost).
 *
 * Listener counts are not exported by the processes; a listener leak per connection would show as
 * heap growth (each listener holds its closure), which is checked.
 */
import { expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { churnRound } from './support/churn.js';
import { FaultBed } from './support/fault-bed.js';
import { writeReport } from './support/fault-report.js';
import { INSPECT_ENV, type ProcessSample, sampleProcess } from './support/process-sample.js';

const ROUNDS = 100;
/** Clients that connect and disconnect in each round (spread over the gates). */
const PER_ROUND = 10;
/** Allowed heap growth after a forced GC, relative and absolute (whichever is larger). */
const HEAP_TOLERANCE = { ratio: 0.1, bytes: 4 * 1024 * 1024 };
/** Handles and timers that may legitimately differ between two samples (requests, pings in flight). */
const COUNT_TOLERANCE = 5;

it('100 rounds of connect/disconnect leave no connections, handles, timers or heap behind', async () => {
  const bed = await FaultBed.start({ env: INSPECT_ENV, load: { users: 8, groups: 4, sendIntervalMs: 500 } });
  try {
    await bed.warm();
    const group = bed.driver.groups[0] as string;
    const churners = Array.from({ length: PER_ROUND }, (_, k) => `churn-${group}-${k}`);
    await bed.sys.addMembers(group, churners);
    const round = (r: number) => churnRound(bed.sys, churners, r % 10 === 0 ? { groupId: group, body: `churn round ${r}` } : undefined);
    const steadyConnections = bed.driver.users.length;
    const quiet = async (what: string) => {
      await bed.driver.stopSending();
      await eventually(`${what}: the gates hold only the load's connections`, async () => {
        const s = await Promise.all(bed.sys.gates.map((g) => sampleProcess(bed.sys, g)));
        return s.reduce((n, x) => n + x.connections, 0) === steadyConnections;
      });
      return Promise.all([...bed.sys.gates, ...bed.sys.logic].map((n) => sampleProcess(bed.sys, n, { gc: true })));
    };

    for (let r = 0; r < 5; r++) await round(r); // warm-up: caches, lazily created pools
    const before = await quiet('baseline');
    bed.driver.startSending();
    const churnStarted = Date.now();
    for (let r = 0; r < ROUNDS; r++) await round(r);
    const churnMs = Date.now() - churnStarted;
    const after = await quiet('after the churn');

    const rows = before.map((b, i) => {
      const a = after[i] as ProcessSample;
      return { name: b.name, heapBefore: b.heapUsedBytes, heapAfter: a.heapUsedBytes, handles: [b.handles, a.handles], timers: [b.timers, a.timers], rss: [b.rssBytes, a.rssBytes] };
    });
    console.log(JSON.stringify({ rounds: ROUNDS, perRound: PER_ROUND, churnMs, processes: rows }));
    for (const [i, b] of before.entries()) {
      const a = after[i] as ProcessSample;
      expect(a.connections, `${b.name} connections`).toBe(b.connections);
      expect(a.handles, `${b.name} handles`).toBeLessThanOrEqual(b.handles + COUNT_TOLERANCE);
      expect(a.timers, `${b.name} timers`).toBeLessThanOrEqual(b.timers + COUNT_TOLERANCE);
      expect(a.heapUsedBytes - b.heapUsedBytes, `${b.name} heap growth`).toBeLessThanOrEqual(Math.max(HEAP_TOLERANCE.ratio * b.heapUsedBytes, HEAP_TOLERANCE.bytes));
    }
    bed.driver.startSending();
    await bed.acceptedEverywhere('after the churn', Date.now(), 2);
    const v = await bed.verdict();
    writeReport('connection-churn', {
      scenario: 'connection-churn',
      order: 11,
      injected: `${ROUNDS} rounds × ${PER_ROUND} clients connect and disconnect`,
      accepted: v.accepted,
      delivered: v.delivered,
      expected: v.expected,
      lost: v.lost,
      duplicates: v.duplicates,
      recoverMs: null,
      codes: v.codes,
      notes: rows.map((r) => `${r.name} heap ${(r.heapBefore / 2 ** 20).toFixed(1)}→${(r.heapAfter / 2 ** 20).toFixed(1)} MiB, handles ${r.handles.join('→')}, timers ${r.timers.join('→')}`).join('; '),
    });
  } finally {
    await bed.stop();
  }
});
