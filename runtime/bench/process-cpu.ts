/**
 * CPU cost per delivery: the CPU seconds (user + system) that every kind of process of a run
 * spent over the measured phase, read from the processes themselves at its start and its end,
 * and divided by the deliveries of the phase. On a shared machine this is steadier than a rate,
 * and it is what capacity planning needs ("deliveries per core").
 *
 * Where each figure comes from:
 * - gates and logic nodes: `process_cpu_seconds_total` of their `/metrics` (the snapshots the
 *   run already scrapes for its Redis figures); a scraped process is a gate or a logic node by
 *   the metric names it exports (`imgroup_gate_…` / `imgroup_logic_…`), so `--metrics` of an
 *   existing cluster needs no roles;
 * - Redis servers: `used_cpu_user` + `used_cpu_sys` of `INFO cpu`, summed over every node
 *   (masters and replicas) the cluster client knows;
 * - client workers and bare `ws` baseline servers: `process.cpuUsage()`, over their IPC.
 */
import { cpus } from 'node:os';
import type { Sample } from '../ops/prom-text.js';
import { sumSamples } from '../ops/prom-text.js';
import type { RedisStore } from '../redis/redis-store.js';
import { infoField } from '../redis/redis-info.js';
import type { MetricsSnapshot } from './metrics-scrape.js';

/** The kinds of process a run is made of, in report order. */
export const PROCESS_KINDS = ['gate', 'logic', 'redis', 'baseline', 'clients'] as const;
export type ProcessKind = (typeof PROCESS_KINDS)[number];

/**
 * CPU seconds per process kind: cumulative at one moment, or spent between two. Only the kinds a
 * run has are present; a kind the run has but could not read (e.g. Redis of a `--target`
 * without `--redis-seeds`) is null.
 */
export type CpuSeconds = Partial<Record<ProcessKind, number | null>>;

/** CPU milliseconds per 1,000 deliveries per kind, plus `server` (every kind but the clients) and `total`; null where a part is unknown. */
export type CpuPerDeliveries = Partial<Record<ProcessKind | 'server' | 'total', number | null>>;

export const PROCESS_CPU_METRIC = 'process_cpu_seconds_total';

/** CPU seconds of a `process.cpuUsage()` reading (microseconds of user and system time). */
export function cpuUsageSeconds(u: { user: number; system: number }): number {
  return (u.user + u.system) / 1e6;
}

/** Gate or logic node, by the metrics a process exports; null for anything else. */
export function processKindOf(samples: readonly Sample[]): 'gate' | 'logic' | null {
  let gate = false;
  for (const s of samples) {
    if (s.name.startsWith('imgroup_logic_')) return 'logic';
    if (s.name.startsWith('imgroup_gate_')) gate = true;
  }
  return gate ? 'gate' : null;
}

/** Cumulative CPU seconds of the gates and of the logic nodes in a snapshot (null: no such process scraped, or one without the metric). */
export function metricsCpu(snapshot: MetricsSnapshot | null): { gate: number | null; logic: number | null } {
  const out: { gate: number | null; logic: number | null } = { gate: null, logic: null };
  const missing = { gate: false, logic: false };
  for (const samples of snapshot?.perTarget ?? []) {
    const kind = processKindOf(samples);
    if (kind === null) continue;
    const v = sumSamples(samples, PROCESS_CPU_METRIC);
    if (v === null) missing[kind] = true;
    else out[kind] = (out[kind] ?? 0) + v;
  }
  return { gate: missing.gate ? null : out.gate, logic: missing.logic ? null : out.logic };
}

/** CPU seconds of one Redis server from its `INFO cpu` reply; null when the fields are missing or not numbers. */
export function redisInfoCpuSeconds(info: string): number | null {
  const user = Number(infoField(info, 'used_cpu_user') ?? NaN);
  const sys = Number(infoField(info, 'used_cpu_sys') ?? NaN);
  return Number.isFinite(user) && Number.isFinite(sys) && user >= 0 && sys >= 0 ? user + sys : null;
}

/** Cumulative CPU seconds of every Redis server of the cluster; null when one cannot be read. */
export async function redisCpuSeconds(redis: RedisStore): Promise<number | null> {
  const nodes = redis.cluster.nodes('all');
  if (nodes.length === 0) return null;
  const each = await Promise.all(nodes.map((n) => n.info('cpu').then(redisInfoCpuSeconds, () => null)));
  return each.some((v) => v === null) ? null : (each as number[]).reduce((a, b) => a + b, 0);
}

/** after − before per kind (the kinds of `after`); null where either is null or the counter went back (a restarted process). */
export function cpuSpent(before: CpuSeconds, after: CpuSeconds): CpuSeconds {
  const out: CpuSeconds = {};
  for (const kind of PROCESS_KINDS) {
    if (!(kind in after)) continue;
    const a = after[kind];
    const b = before[kind];
    out[kind] = a === null || a === undefined || b === null || b === undefined || a < b ? null : a - b;
  }
  return out;
}

/** CPU ms per 1,000 deliveries of each kind spent, with `server` and `total` sums (null when a part is null, or nothing was delivered). */
export function cpuPerDeliveries(spent: CpuSeconds, deliveries: number): CpuPerDeliveries {
  const per = (s: number | null) => (s === null || deliveries <= 0 ? null : (s * 1000 * 1000) / deliveries);
  const sum = (kinds: readonly ProcessKind[]) => {
    let t = 0;
    for (const k of kinds) {
      const v = spent[k];
      if (v === null || v === undefined) return null;
      t += v;
    }
    return t;
  };
  const kinds = PROCESS_KINDS.filter((k) => k in spent);
  const out: CpuPerDeliveries = {};
  for (const k of kinds) out[k] = per(spent[k] ?? null);
  out.server = per(sum(kinds.filter((k) => k !== 'clients')));
  out.total = per(sum(kinds));
  return out;
}

/**
 * The whole machine's CPU time at one moment (every core, whatever runs on it), from
 * `os.cpus()`: busy (user, nice, system, interrupts) and in all, ms. Read at both ends of a
 * measured phase it says how close to saturation the machine ran: on a machine that also runs
 * the load generator, a latency tail at a fixed rate is queueing once this nears 1.
 */
export interface MachineCpu {
  busyMs: number;
  totalMs: number;
  cores: number;
}

type CpuTimes = { user: number; nice: number; sys: number; idle: number; irq: number };

export function machineCpu(list: ReadonlyArray<{ times: CpuTimes }> = cpus()): MachineCpu {
  let busyMs = 0;
  let totalMs = 0;
  for (const { times: t } of list) {
    const busy = t.user + t.nice + t.sys + t.irq;
    busyMs += busy;
    totalMs += busy + t.idle;
  }
  return { busyMs, totalMs, cores: list.length };
}

/** Fraction (0–1) of the machine's CPU time that was busy between two readings; null when no time passed or a counter went back. */
export function machineBusy(before: MachineCpu, after: MachineCpu): number | null {
  const total = after.totalMs - before.totalMs;
  const busy = after.busyMs - before.busyMs;
  if (total <= 0 || busy < 0 || busy > total) return null;
  return busy / total;
}
