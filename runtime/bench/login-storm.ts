/**
 * `imgroup bench --login-storm`: many members come back at once to a backlog.
 *
 *   create groups → connect each group's `--senders` → they send `--storm-backlog` messages to
 *   every group (stored, delivered to them, acknowledged) while the other members are offline →
 *   settle → scrape /metrics, start sampling Redis memory → every other member connects at once
 *   (each client worker opens all its connections together) → wait until each of them holds
 *   every message of its group (login replay; or no progress for --drain-timeout-ms) → stop the
 *   memory sampling → settle → scrape again → judge every delivery.
 *
 * The storm members never connected before, so none of the backlog is acknowledged: each login
 * replays all of it (what a reconnect after the same backlog costs the server; the benchmark's
 * clients do not sync, so `--storm-backlog` stays within the logic nodes' replay limit). Redis
 * commands are the delta of the processes' counters over the storm — logins, replay reads,
 * presence writes, the acks of the replayed messages — and Redis memory the peak of
 * `used_memory` summed over the servers, sampled every 100 ms during the storm.
 */
import type { BenchOptions } from './bench-options.js';
import { type DeliveryVerdict, type GroupRange, judgeDeliveries } from './delivery-check.js';
import { loadFigures, type LoadFigures, scrapeAll } from './metrics-scrape.js';
import { assignConnections, buildPopulation, type GroupPlan } from './population.js';
import { grouped, type ProgressSink } from './progress-line.js';
import { type RedisMemoryPeak, watchRedisMemory } from './redis-memory.js';
import type { RunSubject } from './run-subject.js';
import type { SeqRange } from './seq-receipts.js';
import { WorkerPool } from './worker-pool.js';
import type { WorkerReport } from './worker-protocol.js';
import { connectAll, drain, newRunId, runPhase, settle, workerSettings } from './workload-run.js';
import type { RedisStore } from '../redis/redis-store.js';

export interface StormResult {
  subject: string;
  groups: number;
  /** Members that were offline during the backlog and connected in the storm. */
  stormMembers: number;
  /** Messages stored per group before the storm (the smallest over groups). */
  backlogPerGroup: number;
  /** First storm connect → every storm member welcomed, ms. */
  connectMs: number;
  /** First storm connect → the last replayed message received, ms; null when nothing arrived. */
  replayMs: number | null;
  /** Distinct (member, group, seq) deliveries of the backlog, storm members and senders together. */
  deliveries: number;
  expectedDeliveries: number;
  lost: number;
  due: number;
  duplicates: number;
  cursorsChecked: boolean;
  sendFailures: number;
  disconnects: number;
  badFrames: number;
  /** Redis commands over the storm, from the processes' counters; null without metrics. */
  redisCommands: number | null;
  redisCommandsByName: Record<string, number>;
  /** Peak Redis memory during the storm; null without access to Redis. */
  redisMemory: RedisMemoryPeak | null;
  setupMs: number;
}

const MEMORY_SAMPLE_MS = 100;
const STORM_CONNECT_RETRIES = 5;

export async function runLoginStorm(o: BenchOptions, subject: RunSubject, redis: RedisStore | null, progress: ProgressSink): Promise<StormResult> {
  const all = buildPopulation({ runId: newRunId(), groups: o.groups, groupSize: o.groupSize, online: 1, senders: o.senders });
  const senders: GroupPlan[] = all.map((g) => ({ ...g, online: g.members.slice(0, o.senders) }));
  const storm: GroupPlan[] = all.map((g) => ({ ...g, online: g.members.slice(o.senders), senders: [] }));
  const stormMembers = storm.reduce((n, g) => n + g.online.length, 0);
  progress.step(`${subject.name}: creating ${grouped(all.length)} group(s) of ${grouped(o.groupSize)} members…`);
  const setupStart = Date.now();
  await subject.setup(all);
  const setupMs = Date.now() - setupStart;

  // Every worker opens all its storm connections at once; a handshake the network resets or
  // refuses (a gate's listen backlog overflows) is tried again after a short backoff, as a client reconnects.
  const concurrency = Math.max(o.connectConcurrency, Math.ceil(stormMembers / o.workers));
  const pool = await WorkerPool.start(o.workers, { ...workerSettings(o, o.stormBacklog + 16), connectConcurrency: concurrency, connectRetries: STORM_CONNECT_RETRIES }, o.cpuProfDir);
  try {
    progress.step(`${subject.name}: connecting the ${grouped(senders.length * o.senders)} senders…`);
    const senderConns = assignConnections(senders, o.workers, subject.endpoints);
    await connectAll(pool, subject, senderConns, progress);
    const workerOf = new Map<string, number>();
    senderConns.forEach((conns, w) => conns.forEach((c) => workerOf.set(c.userId, w)));
    const head: Record<string, number> = Object.fromEntries(all.map((g) => [g.groupId, 0]));
    progress.step(`${subject.name}: sending ${grouped(o.stormBacklog)} messages to each group while ${grouped(stormMembers)} members are offline…`);
    const sends = await runPhase(o, pool, progress, 'm', senders, workerOf, o.stormBacklog * all.length, head);
    await settle(o.settleMs, progress);

    const before = subject.opsUrls.length > 0 ? await scrapeAll(subject.opsUrls) : null;
    const memory = redis ? watchRedisMemory(redis, MEMORY_SAMPLE_MS) : null;
    progress.step(`${subject.name}: login storm, ${grouped(stormMembers)} members connect at once…`);
    const stormStart = Date.now();
    let peak: RedisMemoryPeak | null = null;
    let connectMs: number;
    try {
      connectMs = await connectAll(pool, subject, assignConnections(storm, o.workers, subject.endpoints), progress);
      const expected = all.reduce((n, g) => n + g.members.length * (head[g.groupId] ?? 0), 0);
      await drain(pool, progress, 'm', expected, o.drainTimeoutMs);
    } finally {
      peak = (await memory?.stop()) ?? null;
    }
    await settle(o.settleMs, progress);
    const after = before ? await scrapeAll(subject.opsUrls) : null;

    const ranges: GroupRange[] = all.map((g) => ({ groupId: g.groupId, range: [0, head[g.groupId] ?? 0] as SeqRange, online: g.members.length }));
    const reports = await pool.all<WorkerReport>(() => ({ type: 'report', ranges: Object.fromEntries(ranges.map((r) => [r.groupId, r.range])) }), 'report');
    const verdict = await judgeDeliveries(
      ranges,
      reports.flatMap((r) => r.tallies),
      subject.cursors,
    );
    const load = before && after ? loadFigures(before, after) : null;
    return stormResult(subject.name, { groups: all.length, stormMembers, ranges, stormStart, connectMs, setupMs }, reports, verdict, load, peak, sends.reduce((n, s) => n + s.failed, 0));
  } finally {
    progress.step(`${subject.name}: closing connections…`);
    await pool.close();
  }
}

function stormResult(
  subject: string,
  run: { groups: number; stormMembers: number; ranges: readonly GroupRange[]; stormStart: number; connectMs: number; setupMs: number },
  reports: readonly WorkerReport[],
  verdict: DeliveryVerdict,
  load: LoadFigures | null,
  memory: RedisMemoryPeak | null,
  sendFailures: number,
): StormResult {
  const last = Math.max(...reports.map((r) => r.lastReceiveAt ?? 0));
  return {
    subject,
    groups: run.groups,
    stormMembers: run.stormMembers,
    backlogPerGroup: Math.min(...run.ranges.map((r) => r.range[1] - r.range[0])),
    connectMs: run.connectMs,
    replayMs: last > run.stormStart ? Math.round(last - run.stormStart) : null,
    deliveries: verdict.deliveries,
    expectedDeliveries: verdict.expected,
    lost: verdict.lost,
    due: verdict.due,
    duplicates: reports.reduce((n, r) => n + r.duplicates, 0),
    cursorsChecked: verdict.cursorsChecked,
    sendFailures,
    disconnects: reports.reduce((n, r) => n + r.disconnects, 0),
    badFrames: reports.reduce((n, r) => n + r.badFrames, 0),
    redisCommands: load?.redisCommands ?? null,
    redisCommandsByName: load?.redisCommandsByName ?? {},
    redisMemory: memory,
    setupMs: run.setupMs,
  };
}
