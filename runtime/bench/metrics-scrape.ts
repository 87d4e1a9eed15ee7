/**
 * Scraping the `/metrics` of every gate and logic process before and after a measured phase:
 * the benchmark's Redis load and cache figures are deltas of the processes' own counters, summed
 * over processes, never estimates.
 */
import { parsePrometheusText, type Sample, sumSamples } from '../ops/prom-text.js';

/** The metrics a run reads. */
export const METRIC = {
  redisCommands: 'imgroup_redis_commands_total',
  redisRoundtrips: 'imgroup_redis_roundtrips_total',
  sessionCacheRequests: 'imgroup_logic_session_cache_requests_total',
  residentMemory: 'process_resident_memory_bytes',
  heapUsed: 'nodejs_heap_size_used_bytes',
  logicMessageDuration: 'imgroup_logic_message_duration_seconds',
  gateDeliveryDelay: 'imgroup_gate_delivery_delay_seconds',
} as const;

export interface MetricsSnapshot {
  /** Samples per scraped URL, in the order of the URLs. */
  perTarget: Sample[][];
}

const SCRAPE_TIMEOUT_MS = 5000;

/** Fetch `<url>/metrics` of each ops URL. A failing scrape throws naming the URL. */
export async function scrapeAll(opsUrls: readonly string[]): Promise<MetricsSnapshot> {
  const perTarget = await Promise.all(
    opsUrls.map(async (url) => {
      const target = `${url.replace(/\/+$/, '')}/metrics`;
      let res: Response;
      try {
        res = await fetch(target, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
      } catch (err) {
        throw new Error(`cannot scrape ${target}: ${(err as Error).message}`);
      }
      if (!res.ok) throw new Error(`cannot scrape ${target}: HTTP ${res.status}`);
      return parsePrometheusText(await res.text());
    }),
  );
  return { perTarget };
}

/** Sum of a metric over every scraped process; null when no process exports it. */
export function total(snapshot: MetricsSnapshot, name: string, match: Record<string, string> = {}): number | null {
  let sum: number | null = null;
  for (const samples of snapshot.perTarget) {
    const v = sumSamples(samples, name, match);
    if (v !== null) sum = (sum ?? 0) + v;
  }
  return sum;
}

/** after − before of a summed metric; null when it is missing from either snapshot. */
export function delta(before: MetricsSnapshot, after: MetricsSnapshot, name: string, match: Record<string, string> = {}): number | null {
  const a = total(after, name, match);
  const b = total(before, name, match);
  return a === null || b === null ? null : a - b;
}

/** The figures of one measured phase, from snapshots around it. */
export interface LoadFigures {
  redisCommands: number | null;
  /** Deltas per `command` label (scripts as `script:<name>`), summed over processes. */
  redisCommandsByName: Record<string, number>;
  /** Deltas per scraped process, in the order of the ops URLs (a started cluster: gates, then logic nodes); null where missing. */
  redisCommandsByProcess: Array<number | null>;
  redisRoundtrips: number | null;
  cacheHits: number | null;
  cacheRequests: number | null;
  /** Server-side p99 in ms from the processes' own histograms (bucket bounds, so coarse). */
  serverP99Ms: {
    /** Logic: accept → handed to the gates of online members. */
    handedToGates: number | null;
    /** Gate: store time → written to its local connections. */
    writtenByGate: number | null;
  };
  /** Logic: accept → stored (the append, and its WAIT with IMGROUP_REDIS_MIN_REPLICAS_ACK), p50 and p99 in ms (bucket bounds). */
  serverStoredMs: { p50: number | null; p99: number | null };
}

/** Every value of `label` that `name` carries in a snapshot. */
function labelValues(s: MetricsSnapshot, name: string, label: string): Set<string> {
  const out = new Set<string>();
  for (const samples of s.perTarget) for (const x of samples) if (x.name === name && x.labels[label] !== undefined) out.add(x.labels[label] as string);
  return out;
}

export function loadFigures(before: MetricsSnapshot, after: MetricsSnapshot): LoadFigures {
  const byName: Record<string, number> = {};
  for (const command of labelValues(after, METRIC.redisCommands, 'command')) {
    const d = (total(after, METRIC.redisCommands, { command }) ?? 0) - (total(before, METRIC.redisCommands, { command }) ?? 0);
    if (d !== 0) byName[command] = d;
  }
  return {
    redisCommands: delta(before, after, METRIC.redisCommands),
    redisCommandsByName: byName,
    redisCommandsByProcess: after.perTarget.map((samples, i) => {
      const a = sumSamples(samples, METRIC.redisCommands, {});
      const b = sumSamples(before.perTarget[i] ?? [], METRIC.redisCommands, {});
      return a === null || b === null ? null : a - b;
    }),
    redisRoundtrips: delta(before, after, METRIC.redisRoundtrips),
    cacheHits: delta(before, after, METRIC.sessionCacheRequests, { result: 'hit' }),
    cacheRequests: delta(before, after, METRIC.sessionCacheRequests),
    serverP99Ms: {
      handedToGates: toMs(histogramQuantile(before, after, METRIC.logicMessageDuration, 0.99, { stage: 'delivered' })),
      writtenByGate: toMs(histogramQuantile(before, after, METRIC.gateDeliveryDelay, 0.99)),
    },
    serverStoredMs: {
      p50: toMs(histogramQuantile(before, after, METRIC.logicMessageDuration, 0.5, { stage: 'stored' })),
      p99: toMs(histogramQuantile(before, after, METRIC.logicMessageDuration, 0.99, { stage: 'stored' })),
    },
  };
}

function toMs(seconds: number | null): number | null {
  return seconds === null ? null : seconds * 1000;
}

/**
 * The q-quantile of what a histogram observed between two snapshots, summed over processes: the
 * upper bound of the first bucket whose cumulative count delta reaches q of the total, as
 * Prometheus' histogram_quantile would bound it (no interpolation: the figure is a bucket bound,
 * an upper estimate). Null when nothing was observed.
 */
export function histogramQuantile(before: MetricsSnapshot, after: MetricsSnapshot, name: string, q: number, match: Record<string, string> = {}): number | null {
  const bucket = `${name}_bucket`;
  const bounds = [...labelValues(after, bucket, 'le')].map((le) => ({ le, bound: le === '+Inf' ? Infinity : Number(le) })).filter((b) => !Number.isNaN(b.bound));
  bounds.sort((a, b) => a.bound - b.bound);
  const counts = bounds.map((b) => delta(before, after, bucket, { ...match, le: b.le }) ?? 0);
  const totalCount = counts.at(-1) ?? 0;
  if (totalCount <= 0) return null;
  const i = counts.findIndex((c) => c >= q * totalCount);
  const hit = bounds[i];
  if (!hit) return null;
  // Beyond the last finite bucket: report that bound (the figure is at least this).
  return Number.isFinite(hit.bound) ? hit.bound : (bounds.at(-2)?.bound ?? null);
}
