/**
 * One workload run against one subject (imgroup or the ws baseline):
 *
 *   create groups → fork client workers → connect the online members → warm-up phase (sent,
 *   delivered, acknowledged, not counted; the servers sampled every second meanwhile, see
 *   WARMUP_SAMPLE_MS) → settle → scrape /metrics → measured phase → wait for
 *   every delivery (or no progress for --drain-timeout-ms) → settle (coalesced acks and cursor
 *   writes land) → scrape again → collect the workers' receipts → judge every delivery.
 *
 * Redis figures are deltas of the processes' own counters between the two scrapes, divided by
 * the messages stored in the measured phase: everything those messages caused, acks included.
 * CPU figures are deltas of every process's own CPU time between the same two moments (the
 * server processes through the subject, the client workers over IPC; see process-cpu.ts),
 * divided by the deliveries of the measured phase.
 */
import { randomBytes } from 'node:crypto';
import { type BenchOptions, warmupMessages } from './bench-options.js';
import { type DeliveryVerdict, type GroupRange, judgeDeliveries } from './delivery-check.js';
import { LatencyHistogram } from './latency-histogram.js';
import { LatencyTimeline, type TimelineFigures } from './latency-timeline.js';
import type { BenchPhase } from './message-body.js';
import { loadFigures, type LoadFigures, type MetricsSnapshot, scrapeAll } from './metrics-scrape.js';
import { assignConnections, buildPopulation, type Connection, type GroupPlan, senderQuotas } from './population.js';
import { type CpuPerDeliveries, type CpuSeconds, cpuPerDeliveries, cpuSpent, machineBusy, machineCpu } from './process-cpu.js';
import { grouped, type ProgressSink } from './progress-line.js';
import type { RunSubject, SubjectSample } from './run-subject.js';
import type { SeqRange } from './seq-receipts.js';
import { type WakeupFigures, WakeupProbe } from './wakeup-probe.js';
import { WorkerPool } from './worker-pool.js';
import type { ConnectResult, SendPlan, SendQuota, SendResult, WorkerReport, WorkerSettings } from './worker-protocol.js';

export interface RunResult {
  subject: string;
  /** Messages stored in the measured phase. */
  messages: number;
  messagesPerSec: number | null;
  deliveries: number;
  expectedDeliveries: number;
  deliveriesPerSec: number | null;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null; mean: number | null };
  /** The part after the message was stored: receive time − the server's `ts` (whole ms, so ±1 ms). */
  afterStoreMs: { p50: number | null; p99: number | null };
  /** Latency by second of sending, and the second that holds most of the deliveries slower than the p99. */
  latencyTimeline: TimelineFigures;
  /** Server-side p99s from the processes' histograms (bucket upper bounds): see LoadFigures. */
  serverP99Ms: { handedToGates: number | null; writtenByGate: number | null };
  /** Server-side accept → stored (append, and WAIT when asked for), from the logic histograms (bucket bounds). */
  serverStoredMs: { p50: number | null; p99: number | null };
  redisCommandsPerMessage: number | null;
  redisRoundtripsPerMessage: number | null;
  cacheHitRatio: number | null;
  lost: number;
  /** Missing but behind the member's cursor: delivered later by replay, sweep or sync. */
  due: number;
  duplicates: number;
  cursorsChecked: boolean;
  sendFailures: number;
  sendErrors: Record<string, number>;
  disconnects: number;
  badFrames: number;
  /** First measured send to last measured delivery. */
  durationMs: number | null;
  onlineMembers: number;
  load: LoadFigures | null;
  /** Creating the groups (admin API), ms. */
  setupMs: number;
  /** Connecting every online member (handshake, token check, login), ms. */
  connectMs: number;
  /** Client-facing server processes the connections were split over (gates, or baseline servers). */
  servers: number;
  /** Connections open on each of them at the end of the measured phase, as each counts them; null when not known. */
  connectionsPerServer: number[] | null;
  /** CPU seconds spent per process kind over the measured phase (scrape to scrape). */
  cpuSeconds: CpuSeconds;
  /** The same in ms per 1,000 deliveries of the phase, with `server` and `total`. */
  cpuMsPer1000Deliveries: CpuPerDeliveries;
  /**
   * Fraction (0–1) of this machine's CPU time, all cores, that was busy while the measured phase
   * sent and delivered (from its first send until every delivery arrived; every process on it, the client workers included; with `--target` the servers may run
   * elsewhere); null when it could not be read.
   */
  machineBusy: number | null;
  /** Cores of this machine. */
  cores: number;
  /** How late a sleeping process got a core while the measured phase sent and delivered (wakeup-probe.ts). */
  wakeupMs: WakeupFigures;
}

/** Points in a run where a caller measures something of its own (the suite: logic heap before and after). */
export interface RunHooks {
  /** Every online member is connected; nothing was sent yet. */
  connected?(): Promise<void>;
  /** The measured phase is over and settled; connections are still open. */
  measured?(): Promise<void>;
}

/** The load and CPU readings at one end of the measured phase. */
interface PhaseSample {
  metrics: MetricsSnapshot | null;
  server: SubjectSample;
  cpu: CpuSeconds;
}

/**
 * Scrape the ops URLs, then read the subject's processes and the client workers (they report their
 * own CPU time); without `pool` the servers only (a client worker answers one command at a time,
 * and during a phase it is sending: their CPU is then read as 0).
 */
async function samplePhase(subject: RunSubject, pool: WorkerPool | null): Promise<PhaseSample> {
  const metrics = subject.opsUrls.length > 0 ? await scrapeAll(subject.opsUrls) : null;
  const [server, clients] = await Promise.all([subject.sample(metrics), pool ? pool.cpuSeconds() : 0]);
  return { metrics, server, cpu: { ...server.cpu, clients } };
}

/**
 * During the warm-up the servers are sampled this often, as around the measured phase (their
 * /metrics and their CPU), and the samples are thrown away: the first
 * scrape of a process runs its HTTP and metrics code, which makes V8 deoptimize the socket-writing
 * functions the delivery path shares with it (they meet a second kind of stream). Measured: a
 * scrape just before the measured phase made each gate deoptimize about ten of them, and the
 * phase's first two seconds paid for it. A server that Prometheus scrapes has long passed that.
 */
const WARMUP_SAMPLE_MS = 1000;
const PROGRESS_MS = 200;
const POLL_MS = 100;

export function workerSettings(o: BenchOptions, maxSeq: number): WorkerSettings {
  return {
    ackDelayMs: o.ackDelayMs,
    connectConcurrency: o.connectConcurrency,
    connectRetries: 0,
    connectTimeoutMs: 30_000,
    sendTimeoutMs: 10_000,
    sendRetries: 5,
    progressMs: PROGRESS_MS,
    maxSeq,
  };
}

export function newRunId(): string {
  return `b${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export async function runWorkload(o: BenchOptions, subject: RunSubject, progress: ProgressSink, hooks: RunHooks = {}): Promise<RunResult> {
  const groups = buildPopulation({ runId: newRunId(), groups: o.groups, groupSize: o.groupSize, online: o.online, senders: o.senders });
  const onlineMembers = groups.reduce((n, g) => n + g.online.length, 0);
  progress.step(`${subject.name}: creating ${grouped(groups.length)} group(s) of ${grouped(o.groupSize)} members…`);
  const setupStart = Date.now();
  await subject.setup(groups);
  const setupMs = Date.now() - setupStart;

  const assignment = assignConnections(groups, o.workers, subject.endpoints);
  const workerOf = new Map<string, number>();
  assignment.forEach((conns, w) => conns.forEach((c) => workerOf.set(c.userId, w)));
  const warmup = warmupMessages(o);
  const pool = await WorkerPool.start(o.workers, workerSettings(o, warmup + o.messages + 16), o.cpuProfDir);
  try {
    progress.step(`${subject.name}: connecting ${grouped(onlineMembers)} online members over ${o.workers} client worker(s)…`);
    const connectMs = await connectAll(pool, subject, assignment, progress);
    await hooks.connected?.();

    const head: Record<string, number> = Object.fromEntries(groups.map((g) => [g.groupId, 0]));
    if (warmup > 0) {
      progress.step(`${subject.name}: warm-up, ${grouped(warmup)} messages…`);
      const sampling = sampleEvery(WARMUP_SAMPLE_MS, () => samplePhase(subject, null));
      await runPhase(o, pool, progress, 'w', groups, workerOf, warmup, head).finally(sampling);
    }
    await settle(o.settleMs, progress);
    const before = await samplePhase(subject, pool);

    progress.step(`${subject.name}: measuring, ${grouped(o.messages)} messages ${o.rate > 0 ? `at ${grouped(o.rate)}/s` : `as fast as possible (window ${o.window} per sender)`}…`);
    const start = { ...head };
    // The machine is read over the sending and delivering only, without the settle periods.
    const machineStart = machineCpu();
    const probe = new WakeupProbe();
    probe.start();
    let wakeupMs: WakeupFigures;
    let sends: SendResult[];
    try {
      sends = await runPhase(o, pool, progress, 'm', groups, workerOf, o.messages, head);
    } finally {
      wakeupMs = probe.stop();
    }
    const machineEnd = machineCpu();
    await settle(o.settleMs, progress);
    const after = await samplePhase(subject, pool);
    await hooks.measured?.();

    const ranges: GroupRange[] = groups.map((g) => ({ groupId: g.groupId, range: [start[g.groupId] ?? 0, head[g.groupId] ?? 0] as SeqRange, online: g.online.length }));
    const reports = await pool.all<WorkerReport>(() => ({ type: 'report', ranges: Object.fromEntries(ranges.map((r) => [r.groupId, r.range])) }), 'report');
    const verdict = await judgeDeliveries(
      ranges,
      reports.flatMap((r) => r.tallies),
      subject.cursors,
    );
    const load = before.metrics && after.metrics ? loadFigures(before.metrics, after.metrics) : null;
    const cpu = cpuSpent(before.cpu, after.cpu);
    return {
      ...summarize(subject.name, ranges, sends, reports, verdict, load, onlineMembers),
      setupMs,
      connectMs,
      servers: subject.endpoints,
      connectionsPerServer: after.server.connectionsPerServer,
      cpuSeconds: cpu,
      cpuMsPer1000Deliveries: cpuPerDeliveries(cpu, verdict.deliveries),
      machineBusy: machineBusy(machineStart, machineEnd),
      cores: machineEnd.cores,
      wakeupMs,
    };
  } finally {
    progress.step(`${subject.name}: closing connections…`);
    await pool.close();
  }
}

/**
 * Connect every planned connection (`assignment[w]` on worker w) and wait for each welcome;
 * throws when one failed. Resolves to the time it took, ms.
 */
export async function connectAll(pool: WorkerPool, subject: RunSubject, assignment: readonly Connection[][], progress: ProgressSink): Promise<number> {
  const count = assignment.reduce((n, conns) => n + conns.length, 0);
  const urls = await Promise.all(assignment.map((conns) => subject.connectUrls(conns)));
  const openBefore = pool.progress().open;
  const start = Date.now();
  const connecting = watch(pool, progress, (p) => `connected ${grouped(p.open - openBefore)} / ${grouped(count)}`);
  const connected = await pool
    .all<ConnectResult>((w) => ({ type: 'connect', connections: (assignment[w] ?? []).map((c, i) => ({ userId: c.userId, groupIds: c.groupIds, url: urls[w]?.[i] as string })) }), 'connected')
    .finally(connecting);
  const failed = connected.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} of ${count} connections failed, e.g. ${connected.flatMap((r) => r.errors).slice(0, 3).join('; ')}`);
  return Date.now() - start;
}

/** Split a phase's sender quotas by the worker holding each sender, the rate in proportion. */
export function phasePlans(o: BenchOptions, phase: BenchPhase, groups: readonly GroupPlan[], workerOf: ReadonlyMap<string, number>, total: number): SendPlan[] {
  const quotas: SendQuota[][] = Array.from({ length: o.workers }, () => []);
  for (const q of senderQuotas(groups, total)) quotas[workerOf.get(q.userId) ?? 0]?.push(q);
  return quotas.map((list) => {
    const count = list.reduce((n, q) => n + q.count, 0);
    return { phase, quotas: list, ratePerSec: o.rate === 0 ? 0 : (o.rate * count) / total, window: o.window, bodyBytes: o.bodyBytes };
  });
}

export async function runPhase(
  o: BenchOptions,
  pool: WorkerPool,
  progress: ProgressSink,
  phase: BenchPhase,
  groups: readonly GroupPlan[],
  workerOf: ReadonlyMap<string, number>,
  total: number,
  head: Record<string, number>,
): Promise<SendResult[]> {
  const plans = phasePlans(o, phase, groups, workerOf, total);
  const planned = groups.length === 0 ? 0 : (total / groups.length) * groups[0]!.online.length;
  const sending = watch(pool, progress, (p) => `sent ${grouped(p.sent)} / ${grouped(total)} · stored ${grouped(p.confirmed)} · delivered ${grouped(p.delivered[phase])} / ~${grouped(planned)}`);
  const stalled = stallWatch(pool, phase, o.drainTimeoutMs);
  const sends = await Promise.race([pool.all<SendResult>((w) => ({ type: 'send', plan: plans[w] as SendPlan }), 'sent'), stalled.promise]).finally(() => {
    sending();
    stalled.stop();
  });
  const start = { ...head };
  for (const r of sends) for (const [g, seq] of Object.entries(r.maxSeq)) if (seq > (head[g] ?? 0)) head[g] = seq;
  const expected = groups.reduce((n, g) => n + g.online.length * ((head[g.groupId] ?? 0) - (start[g.groupId] ?? 0)), 0);
  await drain(pool, progress, phase, expected, o.drainTimeoutMs);
  return sends;
}

/** Wait until `expected` distinct deliveries of the phase arrived, or nothing moved for `timeoutMs`. */
export async function drain(pool: WorkerPool, progress: ProgressSink, phase: BenchPhase, expected: number, timeoutMs: number): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const delivered = pool.progress().delivered[phase];
    if (delivered >= expected) return;
    if (delivered !== last) {
      last = delivered;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > timeoutMs) {
      progress.step(`delivered ${grouped(delivered)} of ${grouped(expected)}; no progress for ${timeoutMs} ms, checking the rest…`);
      return;
    }
    progress.status(`waiting for deliveries: ${grouped(delivered)} / ${grouped(expected)}`);
    await sleep(POLL_MS);
  }
}

/**
 * Rejects when, while a phase is sending, neither deliveries nor stored messages move for
 * `timeoutMs`: a cluster that stores nothing or delivers nothing would otherwise make the
 * closed loop crawl along on send timeouts.
 */
function stallWatch(pool: WorkerPool, phase: BenchPhase, timeoutMs: number): { promise: Promise<never>; stop: () => void } {
  let timer: ReturnType<typeof setInterval> | undefined;
  const promise = new Promise<never>((_, reject) => {
    let last = '';
    let lastChange = Date.now();
    timer = setInterval(() => {
      const p = pool.progress();
      const now = `${p.delivered[phase]}/${p.confirmed}`;
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > timeoutMs) {
        reject(new Error(`nothing was stored or delivered for ${timeoutMs} ms while sending (sent ${p.sent}, stored ${p.confirmed}, delivered ${p.delivered[phase]}); keep the process logs with --data-dir to see why`));
      }
    }, POLL_MS);
  });
  promise.catch(() => undefined);
  return { promise, stop: () => clearInterval(timer) };
}

/** Run `sample` every `ms` (one at a time, failures ignored) until the returned function is called. */
function sampleEvery(ms: number, sample: () => Promise<unknown>): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const next = () => {
    timer = setTimeout(() => {
      void sample()
        .catch(() => undefined)
        .then(() => {
          if (!stopped) next();
        });
    }, ms);
  };
  next();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export async function settle(ms: number, progress: ProgressSink): Promise<void> {
  if (ms <= 0) return;
  progress.status(`settling ${ms} ms (acks and cursor writes)…`);
  await sleep(ms);
}

/** Show `line(progress)` every poll until the returned stop function is called. */
function watch(pool: WorkerPool, progress: ProgressSink, line: (p: ReturnType<WorkerPool['progress']>) => string): () => void {
  const timer = setInterval(() => progress.status(line(pool.progress())), POLL_MS);
  return () => clearInterval(timer);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function summarize(
  subject: string,
  ranges: readonly GroupRange[],
  sends: readonly SendResult[],
  reports: readonly WorkerReport[],
  verdict: DeliveryVerdict,
  load: LoadFigures | null,
  onlineMembers: number,
): Omit<RunResult, 'setupMs' | 'connectMs' | 'servers' | 'connectionsPerServer' | 'cpuSeconds' | 'cpuMsPer1000Deliveries' | 'machineBusy' | 'cores' | 'wakeupMs'> {
  const messages = ranges.reduce((n, r) => n + (r.range[1] - r.range[0]), 0);
  const latency = new LatencyHistogram();
  const afterStore = new LatencyHistogram();
  const timeline = new LatencyTimeline();
  for (const r of reports) {
    latency.merge(r.latency);
    timeline.merge(r.timeline);
    afterStore.merge(r.afterStore);
  }
  const firstSend = min(sends.map((s) => s.firstSendAt));
  const lastReceive = max(reports.map((r) => r.lastReceiveAt));
  const durationMs = firstSend !== null && lastReceive !== null && lastReceive > firstSend ? lastReceive - firstSend : null;
  const perSec = (n: number) => (durationMs === null ? null : n / (durationMs / 1000));
  const perMessage = (n: number | null | undefined) => (n === null || n === undefined || messages === 0 ? null : n / messages);
  const sendErrors: Record<string, number> = {};
  for (const s of sends) for (const [code, n] of Object.entries(s.errorCodes)) sendErrors[code] = (sendErrors[code] ?? 0) + n;
  return {
    subject,
    messages,
    messagesPerSec: perSec(messages),
    deliveries: verdict.deliveries,
    expectedDeliveries: verdict.expected,
    deliveriesPerSec: perSec(verdict.deliveries),
    latencyMs: { p50: latency.percentile(50), p90: latency.percentile(90), p99: latency.percentile(99), max: latency.max, mean: latency.mean },
    afterStoreMs: { p50: afterStore.percentile(50), p99: afterStore.percentile(99) },
    latencyTimeline: timeline.figures(latency.percentile(99)),
    serverP99Ms: load?.serverP99Ms ?? { handedToGates: null, writtenByGate: null },
    serverStoredMs: load?.serverStoredMs ?? { p50: null, p99: null },
    redisCommandsPerMessage: perMessage(load?.redisCommands),
    redisRoundtripsPerMessage: perMessage(load?.redisRoundtrips),
    cacheHitRatio: load && load.cacheRequests !== null && load.cacheHits !== null && load.cacheRequests > 0 ? load.cacheHits / load.cacheRequests : null,
    lost: verdict.lost,
    due: verdict.due,
    duplicates: reports.reduce((n, r) => n + r.duplicates, 0),
    cursorsChecked: verdict.cursorsChecked,
    sendFailures: sends.reduce((n, s) => n + s.failed, 0),
    sendErrors,
    disconnects: reports.reduce((n, r) => n + r.disconnects, 0),
    badFrames: reports.reduce((n, r) => n + r.badFrames, 0),
    durationMs,
    onlineMembers,
    load,
  };
}

function min(values: ReadonlyArray<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length === 0 ? null : Math.min(...v);
}

function max(values: ReadonlyArray<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length === 0 ? null : Math.max(...v);
}
