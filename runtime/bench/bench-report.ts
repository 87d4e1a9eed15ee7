/**
 * The benchmark's report: one JSON object (`--json`) or a table for people. Pure functions of
 * the run results, so their shape is tested without running anything.
 *
 * JSON: the main run's figures at the top level — {"deliveries","deliveriesPerSec","latencyMs":
 * {"p50","p90","p99","max","mean"},"worstSecond","latencyBySecond","messages","messagesPerSec","redisCommandsPerMessage",
 * "redisRoundtripsPerMessage","cacheHitRatio","lost","duplicates",…,"workload":{…}} — plus
 * "cacheOff" and "redisCommandsRatioOffToOn" with --compare-cache, "baseline",
 * "fractionOfBaseline", "p99RatioToBaseline" and "p99ExtraMs" (imgroup's p99 minus the baseline's) with --baseline. Every run carries "servers",
 * "connectionsPerServer", "cpuSeconds", "cpuMsPer1000Deliveries" (see process-cpu.ts), "machineBusy"
 * (0–1: the machine's CPU busy from the first send until every delivery arrived, all cores, the client workers included),
 * "cores" and "wakeupMs" ({"p50","p99","max","samples"}: how late a sleeping process got a core meanwhile, wakeup-probe.ts). With `--rounds N` (N > 1) the top level and "baseline" are the median round's
 * (by p99 ratio) and "rounds" lists every round: {"messagesPerSec","baselineMessagesPerSec","p99Ms","baselineP99Ms","p99RatioToBaseline","p99ExtraMs",
 * "machineBusy","baselineMachineBusy","wakeupP99Ms","baselineWakeupP99Ms","cpuMsPer1000Deliveries","baselineCpuMsPer1000Deliveries","lost"}.
 * `--idle` prints the IdleResult instead.
 */
import { type BenchOptions, warmupMessages } from './bench-options.js';
import type { IdleResult } from './idle-run.js';
import { PROCESS_KINDS, type CpuPerDeliveries, type CpuSeconds, type ProcessKind } from './process-cpu.js';
import type { RunResult } from './workload-run.js';

export interface BenchOutcome {
  /** The main run (with --compare-cache: the cache-on run; with --rounds: the median round's). */
  main: RunResult;
  cacheOff?: RunResult;
  baseline?: RunResult;
  /** With --rounds above 1: every round, in the order run. */
  rounds?: BenchRound[];
}

/** One round of `--rounds`: imgroup, then the baseline. */
export interface BenchRound {
  main: RunResult;
  baseline?: RunResult | undefined;
}

/**
 * The round whose p99 ratio (imgroup ÷ baseline) is the median; of an even number, the upper of
 * the two middle ones (the one less kind to imgroup). Rounds without a ratio sort last.
 */
export function medianRound(rounds: readonly BenchRound[]): BenchRound {
  if (rounds.length === 0) throw new Error('no rounds');
  const key = (r: BenchRound) => p99Against(r.main, r.baseline).ratio ?? Number.POSITIVE_INFINITY;
  const sorted = [...rounds].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor(sorted.length / 2)] as BenchRound;
}

/** imgroup's p99 against the baseline's: ratio and difference (ms), each null when a p99 is missing. */
function p99Against(main: RunResult, baseline: RunResult | undefined): { ratio: number | null; extraMs: number | null } {
  const b = baseline?.latencyMs.p99 ?? null;
  return { ratio: ratio(main.latencyMs.p99, b), extraMs: difference(main.latencyMs.p99, b) };
}

function roundsJson(rounds: readonly BenchRound[]): Array<Record<string, unknown>> {
  return rounds.map((r) => ({
    messagesPerSec: round(r.main.messagesPerSec, 1),
    baselineMessagesPerSec: round(r.baseline?.messagesPerSec ?? null, 1),
    p99Ms: r.main.latencyMs.p99,
    baselineP99Ms: r.baseline?.latencyMs.p99 ?? null,
    ...p99Json(r.main, r.baseline),
    machineBusy: round(r.main.machineBusy, 3),
    baselineMachineBusy: round(r.baseline?.machineBusy ?? null, 3),
    wakeupP99Ms: round(r.main.wakeupMs.p99),
    baselineWakeupP99Ms: round(r.baseline?.wakeupMs.p99 ?? null),
    cpuMsPer1000Deliveries: roundedCpu(r.main.cpuMsPer1000Deliveries),
    baselineCpuMsPer1000Deliveries: r.baseline ? roundedCpu(r.baseline.cpuMsPer1000Deliveries) : null,
    lost: r.main.lost,
  }));
}

/** Round to `digits` decimals; null stays null. */
export function round(n: number | null, digits = 3): number | null {
  if (n === null || !Number.isFinite(n)) return n === null ? null : n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** a − b, or null when either is missing. */
export function difference(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a - b;
}

/** Ratio a / b, or null when either is missing or b is 0. */
export function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : a / b;
}

export function workloadOf(o: BenchOptions): Record<string, unknown> {
  return {
    groups: o.groups,
    groupSize: o.groupSize,
    online: o.online,
    senders: o.senders,
    messages: o.messages,
    warmup: warmupMessages(o),
    rate: o.rate,
    window: o.window,
    bodyBytes: o.bodyBytes,
    workers: o.workers,
    ...(o.target ? { target: o.target } : { gates: o.gates, logic: o.logic, redisMasters: o.redisMasters, redisReplicas: o.redisReplicas }),
    ...(o.sessionTtlMs !== undefined ? { sessionTtlMs: o.sessionTtlMs } : {}),
    ...(o.sessionInvalidation !== undefined ? { sessionInvalidation: o.sessionInvalidation === 'true' } : {}),
    ...(o.minReplicasAck !== undefined ? { minReplicasAck: o.minReplicasAck } : {}),
  };
}

/** The second that holds most of the deliveries slower than the run's p99 (see latency-timeline.ts). */
function worstSecondJson(r: RunResult): Record<string, unknown> | null {
  const w = r.latencyTimeline.worst;
  return w && { second: w.second, seconds: r.latencyTimeline.bySecond.length, deliveries: w.deliveries, p99: round(w.p99), max: round(w.max), slowestShare: round(w.slowestShare, 3) };
}

function worstSecondCell(r: RunResult): string {
  const w = r.latencyTimeline.worst;
  return w ? `s${w.second} of ${r.latencyTimeline.bySecond.length}: ${ms(w.p99)}, ${pct(w.slowestShare)}` : '—';
}

function runJson(r: RunResult): Record<string, unknown> {
  return {
    deliveries: r.deliveries,
    deliveriesPerSec: round(r.deliveriesPerSec, 1),
    latencyMs: { p50: round(r.latencyMs.p50), p90: round(r.latencyMs.p90), p99: round(r.latencyMs.p99), max: round(r.latencyMs.max), mean: round(r.latencyMs.mean) },
    afterStoreMs: { p50: round(r.afterStoreMs.p50), p99: round(r.afterStoreMs.p99) },
    worstSecond: worstSecondJson(r),
    latencyBySecond: r.latencyTimeline.bySecond.map((x) => ({ second: x.second, deliveries: x.deliveries, p50: round(x.p50), p99: round(x.p99), max: round(x.max) })),
    serverP99Ms: { handedToGates: round(r.serverP99Ms.handedToGates), writtenByGate: round(r.serverP99Ms.writtenByGate) },
    serverStoredMs: { p50: round(r.serverStoredMs.p50), p99: round(r.serverStoredMs.p99) },
    messages: r.messages,
    messagesPerSec: round(r.messagesPerSec, 1),
    redisCommandsPerMessage: round(r.redisCommandsPerMessage),
    redisRoundtripsPerMessage: round(r.redisRoundtripsPerMessage),
    redisCommandsPerMessageByName: r.load && r.messages > 0 ? Object.fromEntries(Object.entries(r.load.redisCommandsByName).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v / r.messages, 4)])) : null,
    cacheHitRatio: round(r.cacheHitRatio, 4),
    lost: r.lost,
    duplicates: r.duplicates,
    due: r.due,
    expectedDeliveries: r.expectedDeliveries,
    onlineMembers: r.onlineMembers,
    cursorsChecked: r.cursorsChecked,
    sendFailures: r.sendFailures,
    sendErrors: r.sendErrors,
    disconnects: r.disconnects,
    badFrames: r.badFrames,
    durationMs: round(r.durationMs, 1),
    ...serversJson(r),
  };
}

export function outcomeJson(outcome: BenchOutcome, o: BenchOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { ...runJson(outcome.main), workload: workloadOf(o) };
  if (outcome.cacheOff) {
    out.cacheOff = runJson(outcome.cacheOff);
    out.redisCommandsRatioOffToOn = round(ratio(outcome.cacheOff.redisCommandsPerMessage, outcome.main.redisCommandsPerMessage), 2);
  }
  if (outcome.baseline) {
    out.baseline = runJson(outcome.baseline);
    Object.assign(out, baselineComparison(outcome.main, outcome.baseline));
  }
  if (outcome.rounds) out.rounds = roundsJson(outcome.rounds);
  return out;
}

export function idleJson(r: IdleResult): Record<string, unknown> {
  return {
    idleConnections: r.idleConnections,
    connected: r.connected,
    rssBytesPerConnection: round(r.rssBytesPerConnection, 0),
    heapBytesPerConnection: round(r.heapBytesPerConnection, 0),
    rssBytesBefore: r.rssBytesBefore,
    rssBytesAfter: r.rssBytesAfter,
    heapBytesBefore: r.heapBytesBefore,
    heapBytesAfter: r.heapBytesAfter,
    gcForced: r.gcForced,
  };
}

// ---------------------------------------------------------------- tables

export const n0 = (n: number | null) => (n === null ? '—' : Math.round(n).toLocaleString('en-US'));
export const n2 = (n: number | null) => (n === null ? '—' : n.toFixed(2));
export const ms = (n: number | null) => (n === null ? '—' : n < 10 ? n.toFixed(2) : n.toFixed(1));
/** A difference in ms with its sign: "+3.40 ms", "−0.52 ms". */
export const signedMs = (n: number | null) => (n === null ? '— ms' : `${n < 0 ? '−' : '+'}${ms(Math.abs(n))} ms`);
export const pct = (n: number | null) => (n === null ? '—' : `${(n * 100).toFixed(1)} %`);
export const kib = (n: number | null) => (n === null ? '—' : `${(n / 1024).toFixed(2)} KiB`);

const ROWS: ReadonlyArray<[label: string, cell: (r: RunResult) => string]> = [
  ['messages stored', (r) => n0(r.messages)],
  ['messages/s', (r) => n0(r.messagesPerSec)],
  ['deliveries', (r) => `${n0(r.deliveries)} of ${n0(r.expectedDeliveries)}`],
  ['deliveries/s', (r) => n0(r.deliveriesPerSec)],
  ['latency p50 (ms)', (r) => ms(r.latencyMs.p50)],
  ['latency p90 (ms)', (r) => ms(r.latencyMs.p90)],
  ['latency p99 (ms)', (r) => ms(r.latencyMs.p99)],
  ['latency max (ms)', (r) => ms(r.latencyMs.max)],
  ['  of which after store p50/p99', (r) => `${ms(r.afterStoreMs.p50)} / ${ms(r.afterStoreMs.p99)}`],
  ['  worst second: p99 (ms), share of the slowest 1 %', (r) => worstSecondCell(r)],
  ['server p99 ≤ (ms): to gates / by gates', (r) => `${ms(r.serverP99Ms.handedToGates)} / ${ms(r.serverP99Ms.writtenByGate)}`],
  ['server accept → stored p50/p99 ≤ (ms)', (r) => `${ms(r.serverStoredMs.p50)} / ${ms(r.serverStoredMs.p99)}`],
  ['Redis commands/message', (r) => n2(r.redisCommandsPerMessage)],
  ['Redis round trips/message', (r) => n2(r.redisRoundtripsPerMessage)],
  ['session cache hit ratio', (r) => pct(r.cacheHitRatio)],
  ['lost', (r) => `${n0(r.lost)}${r.cursorsChecked ? '' : ' (cursors not read)'}`],
  ['due later (behind cursor)', (r) => n0(r.due)],
  ['duplicates', (r) => n0(r.duplicates)],
  ['send failures', (r) => (r.sendFailures === 0 ? '0' : `${n0(r.sendFailures)} ${JSON.stringify(r.sendErrors)}`)],
  ['disconnects', (r) => n0(r.disconnects)],
];

/** Columns padded to their widest cell; the first column left-aligned, the rest right-aligned. */
export function renderTable(rows: readonly string[][]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('   ').trimEnd()).join('\n');
}

export function workloadLine(o: BenchOptions, onlineMembers: number): string {
  const sending = o.rate > 0 ? `${n0(o.rate)} msgs/s` : `as fast as possible (window ${o.window}/sender)`;
  const where = o.target ? `target ${o.target.join(', ')}` : `${o.gates} gate(s), ${o.logic} logic node(s), Redis ${o.redisMasters} masters with ${o.redisReplicas} replica(s) each`;
  return [
    `workload: ${n0(o.groups)} group(s) × ${n0(o.groupSize)} members, ${(o.online * 100).toFixed(0)} % online (${n0(onlineMembers)} connections), ${o.senders} sender(s)/group,`,
    `          ${n0(o.messages)} messages (+${n0(warmupMessages(o))} warm-up) ${sending}, ${o.bodyBytes}-byte bodies, ${o.workers} client worker(s); ${where}`,
  ].join('\n');
}

export function outcomeTable(outcome: BenchOutcome, o: BenchOptions): string {
  const runs: Array<[string, RunResult]> = [];
  if (outcome.cacheOff) runs.push(['cache off', outcome.cacheOff], ['cache on', outcome.main]);
  else runs.push([outcome.main.subject, outcome.main]);
  if (outcome.baseline) runs.push([outcome.baseline.subject, outcome.baseline]);
  const rows = [['', ...runs.map(([t]) => t)], ...[...ROWS, ...SERVER_ROWS, ...cpuRows(runs.map(([, r]) => r))].map(([label, cell]) => [label, ...runs.map(([, r]) => cell(r))])];
  const lines = [workloadLine(o, outcome.main.onlineMembers), '', renderTable(rows)];
  if (outcome.cacheOff) {
    const x = ratio(outcome.cacheOff.redisCommandsPerMessage, outcome.main.redisCommandsPerMessage);
    lines.push('', `Redis commands per message, cache off ÷ cache on: ${x === null ? '—' : `${x.toFixed(2)}×`}`);
  }
  if (outcome.baseline) lines.push('', ...baselineLines(outcome.main, outcome.baseline, o));
  if (outcome.rounds) lines.push(...roundsLines(outcome.rounds));
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- --baseline and CPU per delivery

/** CPU rows' labels per process kind. */
const KIND_LABEL: Record<ProcessKind | 'server' | 'total', string> = {
  gate: 'gates',
  logic: 'logic nodes',
  redis: 'Redis servers',
  baseline: 'ws baseline servers',
  clients: 'client workers',
  server: 'servers (all but clients)',
  total: 'total',
};

function roundedCpu(m: CpuSeconds | CpuPerDeliveries): Record<string, number | null> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v ?? null, 3)]));
}

function serversJson(r: RunResult): Record<string, unknown> {
  return {
    servers: r.servers,
    connectionsPerServer: r.connectionsPerServer,
    cpuSeconds: roundedCpu(r.cpuSeconds),
    cpuMsPer1000Deliveries: roundedCpu(r.cpuMsPer1000Deliveries),
    machineBusy: round(r.machineBusy, 3),
    cores: r.cores,
    wakeupMs: { p50: round(r.wakeupMs.p50), p99: round(r.wakeupMs.p99), max: round(r.wakeupMs.max), samples: r.wakeupMs.samples },
  };
}

/**
 * imgroup against the baseline run: deliveries/s fraction, p99 ratio (imgroup ÷ baseline) and the
 * p99 difference in ms: what imgroup's extra hops (gate → logic → Redis → logic → gate, against
 * the baseline's relay) added at the tail in that run, which the ratio alone does not show.
 */
function baselineComparison(main: RunResult, baseline: RunResult): Record<string, number | null> {
  return {
    fractionOfBaseline: round(ratio(main.deliveriesPerSec, baseline.deliveriesPerSec), 3),
    ...p99Json(main, baseline),
  };
}

function p99Json(main: RunResult, baseline: RunResult | undefined): { p99RatioToBaseline: number | null; p99ExtraMs: number | null } {
  const p99 = p99Against(main, baseline);
  return { p99RatioToBaseline: round(p99.ratio, 2), p99ExtraMs: round(p99.extraMs, 3) };
}

/** "2.13× (+11.3 ms)", or "— (— ms)" without a p99 on either side. */
function p99Text(main: RunResult, baseline: RunResult | undefined): string {
  const p99 = p99Against(main, baseline);
  return `${p99.ratio === null ? '—' : `${p99.ratio.toFixed(2)}×`} (${signedMs(p99.extraMs)})`;
}

const SERVER_ROWS: ReadonlyArray<[label: string, cell: (r: RunResult) => string]> = [
  ['server processes (connections each)', (r) => `${r.servers}${r.connectionsPerServer ? ` (${r.connectionsPerServer.map(n0).join(' / ')})` : ''}`],
  ['machine CPU busy (all cores, clients included)', (r) => `${pct(r.machineBusy)} of ${r.cores}`],
  ['a sleeping process waits for a core, p50/p99 (ms)', (r) => `${ms(r.wakeupMs.p50)} / ${ms(r.wakeupMs.p99)}`],
];

/** A row per process kind any of the runs has, then servers and total: CPU ms per 1,000 deliveries ('' where a run has no such process, — where it could not be read). */
function cpuRows(runs: readonly RunResult[]): Array<[label: string, cell: (r: RunResult) => string]> {
  const kinds = [...PROCESS_KINDS.filter((k) => runs.some((r) => k in r.cpuMsPer1000Deliveries)), 'server', 'total'] as const;
  return [
    ['CPU ms per 1,000 deliveries', () => ''],
    ...kinds.map((k): [string, (r: RunResult) => string] => [`  ${KIND_LABEL[k]}`, (r) => (k in r.cpuMsPer1000Deliveries ? n2(r.cpuMsPer1000Deliveries[k] ?? null) : '')]),
  ];
}

function baselineLines(main: RunResult, baseline: RunResult, o: BenchOptions): string[] {
  const load = o.rate > 0 ? `both at ${n0(o.rate)} msgs/s offered` : 'both as fast as possible, so mostly queueing';
  return [
    `imgroup deliveries/s as a fraction of the bare ws baseline (${baseline.servers} server process(es), one per gate): ${pct(ratio(main.deliveriesPerSec, baseline.deliveriesPerSec))}`,
    `latency p99, imgroup ÷ ws baseline (${load}): ${p99Text(main, baseline)}`,
  ];
}

function roundsLines(rounds: readonly BenchRound[]): string[] {
  const median = medianRound(rounds);
  return [
    `${rounds.length} alternating rounds; the columns above are the median round's (by p99 ratio). Every round, p99 imgroup / baseline (ms) = ratio:`,
    ...rounds.map((r, i) => {
      const waits = `a sleeping process waited ≤ ${ms(r.main.wakeupMs.p99)} / ${ms(r.baseline?.wakeupMs.p99 ?? null)} ms (p99)`;
      return `  ${i + 1}: ${ms(r.main.latencyMs.p99)} / ${ms(r.baseline?.latencyMs.p99 ?? null)} = ${p99Text(r.main, r.baseline)}${r === median ? '  (median)' : ''}, ${waits}, lost ${n0(r.main.lost)}`;
    }),
  ];
}

export function idleTable(r: IdleResult): string {
  const rows = [
    ['', 'before', 'after', 'per connection'],
    ['resident memory', kib(r.rssBytesBefore), kib(r.rssBytesAfter), kib(r.rssBytesPerConnection)],
    ['V8 heap used', kib(r.heapBytesBefore), kib(r.heapBytesAfter), kib(r.heapBytesPerConnection)],
  ];
  const how = r.gcForced ? 'each sample after a forced full GC in the gate' : 'minimum of several samples (no forced GC: the heap may include garbage)';
  return `${n0(r.connected)} idle authenticated connections on one gate (${how})\n\n${renderTable(rows)}\n`;
}
