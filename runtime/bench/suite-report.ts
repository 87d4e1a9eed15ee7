/**
 * Reports of `--login-storm` and `--suite`: pure functions of the results, so their shape is
 * tested without running anything.
 *
 * `--suite --json` prints one JSON object per workload, one per line, each with `workload` (its
 * name) and `options` (the workload's settings, as `workload` of a single run's JSON): message
 * workloads carry a single run's figures (bench-report.ts) plus `setupMs`, `connectMs` and, for
 * small-groups, `sessionCache` (one object per logic node); the login storm its StormResult
 * figures; idle the `--idle` figures; a failed workload `error`. `--suite` without `--json`
 * prints one table, a column per workload.
 */
import type { BenchOptions } from './bench-options.js';
import { idleJson, kib, ms, n0, n2, outcomeJson, pct, renderTable, round, workloadOf } from './bench-report.js';
import type { StormResult } from './login-storm.js';
import type { LogicCacheMemory, SuiteEntry } from './suite-run.js';
import type { RunResult } from './workload-run.js';

// ---------------------------------------------------------------- login storm

export function stormJson(r: StormResult, o: BenchOptions): Record<string, unknown> {
  const perMember = (n: number | null) => (n === null || r.stormMembers === 0 ? null : round(n / r.stormMembers, 2));
  return {
    groups: r.groups,
    stormMembers: r.stormMembers,
    backlogPerGroup: r.backlogPerGroup,
    connectMs: r.connectMs,
    replayMs: r.replayMs,
    deliveries: r.deliveries,
    expectedDeliveries: r.expectedDeliveries,
    lost: r.lost,
    due: r.due,
    duplicates: r.duplicates,
    cursorsChecked: r.cursorsChecked,
    sendFailures: r.sendFailures,
    disconnects: r.disconnects,
    badFrames: r.badFrames,
    redisCommands: r.redisCommands,
    redisCommandsPerMember: perMember(r.redisCommands),
    redisCommandsByName: r.redisCommandsByName,
    redisMemory: r.redisMemory,
    setupMs: r.setupMs,
    workload: { ...workloadOf(o), stormBacklog: o.stormBacklog },
  };
}

const seconds = (n: number | null) => (n === null ? '—' : `${(n / 1000).toFixed(2)} s`);
const mib = (n: number | null, digits = 1) => (n === null ? '—' : `${(n / 1024 / 1024).toFixed(digits)} MiB`);
const mib2 = (n: number | null) => mib(n, 2);

function stormRows(r: StormResult): Array<[string, string]> {
  const mem = r.redisMemory;
  return [
    ['storm members (connect at once)', n0(r.stormMembers)],
    ['backlog per member (messages)', n0(r.backlogPerGroup)],
    ['all connected after', seconds(r.connectMs)],
    ['every replay delivered after', seconds(r.replayMs)],
    ['Redis memory start → peak', mem ? `${mib(mem.startBytes)} → ${mib(mem.peakBytes)}` : '—'],
    ['Redis commands (per member)', r.redisCommands === null ? '—' : `${n0(r.redisCommands)} (${n2(r.stormMembers > 0 ? r.redisCommands / r.stormMembers : null)})`],
    ['deliveries', `${n0(r.deliveries)} of ${n0(r.expectedDeliveries)}`],
    ['lost', `${n0(r.lost)}${r.cursorsChecked ? '' : ' (cursors not read)'}`],
    ['due later (behind cursor)', n0(r.due)],
    ['duplicates', n0(r.duplicates)],
  ];
}

export function stormTable(r: StormResult, o: BenchOptions): string {
  const head = `login storm: ${n0(r.groups)} group(s) × ${n0(o.groupSize)} members; ${o.senders} sender(s)/group send ${n0(o.stormBacklog)} messages each group while the other ${n0(r.stormMembers)} members are offline, then those connect at once`;
  return `${head}\n\n${renderTable([['', r.subject], ...stormRows(r).map(([label, cell]) => [label, cell])])}\n`;
}

// ---------------------------------------------------------------- suite

/**
 * Redis commands per message split by the kind of process that sent them, for a cluster the
 * benchmark started (its ops URLs are the gates', then the logic nodes'): logic nodes send what
 * messages cost (append, cursor writes, cache fills); gates send connection upkeep (the presence
 * refresh rewrites every connection once per IMGROUP_PRESENCE_REFRESH_MS, in bursts each
 * heartbeat), which a short measured phase catches or misses by chance. Null with --target.
 */
export function commandsPerMessageByKind(r: RunResult, o: BenchOptions): { logic: number | null; gates: number | null } | null {
  const per = r.load?.redisCommandsByProcess;
  if (o.target || !per || per.length !== o.gates + o.logic || r.messages === 0) return null;
  const sum = (xs: Array<number | null>) => (xs.some((x) => x === null) ? null : xs.reduce<number>((n, x) => n + (x as number), 0) / r.messages);
  return { gates: sum(per.slice(0, o.gates)), logic: sum(per.slice(o.gates)) };
}

/** One JSON object per workload. */
export function suiteJsonLines(entries: readonly SuiteEntry[]): string[] {
  return entries.map((e) => JSON.stringify(suiteEntryJson(e)));
}

export function suiteEntryJson(e: SuiteEntry): Record<string, unknown> {
  switch (e.kind) {
    case 'messages': {
      const { workload: options, ...figures } = outcomeJson({ main: e.result }, e.options);
      const byKind = commandsPerMessageByKind(e.result, e.options);
      return {
        workload: e.name,
        ...figures,
        redisCommandsPerMessageByProcessKind: byKind ? { logic: round(byKind.logic), gates: round(byKind.gates) } : null,
        setupMs: e.result.setupMs,
        connectMs: e.result.connectMs,
        ...(e.sessionCache ? { sessionCache: e.sessionCache } : {}),
        options,
      };
    }
    case 'login-storm': {
      const { workload: options, ...figures } = stormJson(e.result, e.options);
      return { workload: e.name, ...figures, options };
    }
    case 'idle':
      return { workload: e.name, ...idleJson(e.result), options: { idle: e.options.idle, workers: e.options.workers } };
    case 'failed':
      return { workload: e.name, error: e.error, options: workloadOf(e.options) };
  }
}

/** Lost deliveries over the suite (a failed workload counts as not checked, see suiteFailed). */
export function suiteLost(entries: readonly SuiteEntry[]): number {
  return entries.reduce((n, e) => n + (e.kind === 'messages' || e.kind === 'login-storm' ? e.result.lost : 0), 0);
}

export function suiteFailed(entries: readonly SuiteEntry[]): SuiteEntry[] {
  return entries.filter((e) => e.kind === 'failed');
}

type Cell = (e: SuiteEntry) => string | null;

const msg = (f: (e: Extract<SuiteEntry, { kind: 'messages' }>) => string): Cell => (e) => (e.kind === 'messages' ? f(e) : null);
const storm = (f: (r: StormResult) => string): Cell => (e) => (e.kind === 'login-storm' ? f(e.result) : null);

function perNode(list: LogicCacheMemory[] | null, f: (c: LogicCacheMemory) => number | null, unit: (n: number | null) => string): string {
  return list && list.length > 0 ? list.map((c) => unit(f(c))).join(' / ') : '—';
}

const SUITE_ROWS: ReadonlyArray<[label: string, cell: Cell]> = [
  [
    'connections',
    (e) => (e.kind === 'messages' ? n0(e.result.onlineMembers) : e.kind === 'login-storm' ? `${n0(e.result.stormMembers)} at once` : e.kind === 'idle' ? n0(e.result.connected) : null),
  ],
  ['groups × members', (e) => (e.kind === 'idle' || e.kind === 'failed' ? null : `${n0(e.options.groups)} × ${n0(e.options.groupSize)}`)],
  ['offered rate (msgs/s)', msg((e) => (e.options.rate > 0 ? n0(e.options.rate) : 'max'))],
  ['messages stored', msg((e) => n0(e.result.messages))],
  ['messages/s', msg((e) => n0(e.result.messagesPerSec))],
  ['deliveries/s', msg((e) => n0(e.result.deliveriesPerSec))],
  ['latency p50 (ms)', msg((e) => ms(e.result.latencyMs.p50))],
  ['latency p99 (ms)', msg((e) => ms(e.result.latencyMs.p99))],
  ['Redis commands/message', msg((e) => n2(e.result.redisCommandsPerMessage))],
  ['machine CPU busy (all cores, clients included)', msg((e) => pct(e.result.machineBusy))],
  ['CPU ms / 1,000 deliveries: gate / logic / Redis', msg((e) => { const c = e.result.cpuMsPer1000Deliveries; return `${n2(c.gate ?? null)} / ${n2(c.logic ?? null)} / ${n2(c.redis ?? null)}`; })],
  [
    '  of which logic / gates (presence upkeep)',
    msg((e) => {
      const k = commandsPerMessageByKind(e.result, e.options);
      return k ? `${n2(k.logic)} / ${n2(k.gates)}` : '—';
    }),
  ],
  ['session cache heap growth, per logic node', msg((e) => perNode(e.sessionCache, (c) => c.heapGrowthBytes, mib2))],
  ['  its own estimate, per logic node', msg((e) => perNode(e.sessionCache, (c) => c.estimatedBytes, mib2))],
  ['  entries (lists + presence), per node', msg((e) => (e.sessionCache ? e.sessionCache.map((c) => `${n0(c.entries.members)}+${n0(c.entries.presence)}`).join(' / ') : '—'))],
  ['group creation', (e) => (e.kind === 'messages' || e.kind === 'login-storm' ? seconds(e.result.setupMs) : null)],
  ['connect', (e) => (e.kind === 'messages' || e.kind === 'login-storm' ? seconds(e.result.connectMs) : null)],
  ['storm: every replay delivered after', storm((r) => seconds(r.replayMs))],
  ['storm: backlog per member', storm((r) => n0(r.backlogPerGroup))],
  ['storm: Redis memory start → peak', storm((r) => (r.redisMemory ? `${mib(r.redisMemory.startBytes)} → ${mib(r.redisMemory.peakBytes)}` : '—'))],
  ['storm: Redis commands (per member)', storm((r) => (r.redisCommands === null ? '—' : `${n0(r.redisCommands)} (${n2(r.stormMembers > 0 ? r.redisCommands / r.stormMembers : null)})`))],
  ['idle: gate heap / RSS per connection', (e) => (e.kind === 'idle' ? `${kib(e.result.heapBytesPerConnection)} / ${kib(e.result.rssBytesPerConnection)}` : null)],
  ['lost', (e) => (e.kind === 'messages' || e.kind === 'login-storm' ? `${n0(e.result.lost)}${e.result.cursorsChecked ? '' : ' (cursors not read)'}` : null)],
  ['due later (behind cursor)', (e) => (e.kind === 'messages' || e.kind === 'login-storm' ? n0(e.result.due) : null)],
  ['duplicates', (e) => (e.kind === 'messages' || e.kind === 'login-storm' ? n0(e.result.duplicates) : null)],
];

export function suiteTable(entries: readonly SuiteEntry[], o: BenchOptions): string {
  const where = o.target ? `target ${o.target.join(', ')}` : `${o.gates} gate(s), ${o.logic} logic node(s), Redis ${o.redisMasters} masters with ${o.redisReplicas} replica(s) each`;
  const head = `suite${o.suiteScale !== 1 ? ` at scale ${o.suiteScale}` : ''}: ${where}; ${o.workers} client worker(s), ${o.bodyBytes}-byte bodies`;
  const rows = [['', ...entries.map((e) => e.name)], ...SUITE_ROWS.map(([label, cell]) => [label, ...entries.map((e) => cell(e) ?? '')])];
  const lines = [head, '', renderTable(rows)];
  for (const e of entries) if (e.kind === 'failed') lines.push('', `${e.name} failed: ${e.error}`);
  return `${lines.join('\n')}\n`;
}
