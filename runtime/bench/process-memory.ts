/**
 * The memory a benchmarked process holds, read from its own `/metrics` (resident memory and V8
 * heap in use): the minimum of a few scrapes, each right after a full garbage collection forced
 * through the process's inspector when the benchmark started it with one (runtime/bench/
 * inspector-gc.ts), so the heap counts live objects, not garbage no collection reclaimed yet.
 * `--idle` reads a gate's memory per connection with it, `--suite` the logic nodes' session cache.
 */
import { METRIC, type MetricsSnapshot, scrapeAll, total } from './metrics-scrape.js';
import type { ProgressSink } from './progress-line.js';

/** One process to sample: its ops URL and a way to force a full GC in it (false when it cannot). */
export interface MemoryProbe {
  opsUrl: string;
  collectGarbage(): Promise<boolean>;
}

/** Memory samples per reading: the minimum counts. After a forced GC few are needed. */
const SAMPLES = { forcedGc: 3, noGc: 5 };
const SAMPLE_GAP_MS = { forcedGc: 200, noGc: 1000 };

export interface MemorySample {
  rss: number | null;
  heap: number | null;
  gcForced: boolean;
}

/** Resident memory and V8 heap in use of one process: the minimum of a few scrapes, each right after a forced full GC when the probe can force one. */
export async function sampleMemory(probe: MemoryProbe, progress: ProgressSink, label: string): Promise<MemorySample> {
  let rss: number | null = null;
  let heap: number | null = null;
  let gcForced = true;
  let samples = SAMPLES.forcedGc;
  for (let i = 0; i < samples; i++) {
    progress.status(`${label}: memory sample ${i + 1} / ${samples}`);
    if (!(await probe.collectGarbage())) {
      gcForced = false;
      samples = SAMPLES.noGc;
    }
    const s: MetricsSnapshot = await scrapeAll([probe.opsUrl]);
    const r = total(s, METRIC.residentMemory);
    const h = total(s, METRIC.heapUsed);
    if (r !== null) rss = rss === null ? r : Math.min(rss, r);
    if (h !== null) heap = heap === null ? h : Math.min(heap, h);
    if (i < samples - 1) await new Promise((res) => setTimeout(res, gcForced ? SAMPLE_GAP_MS.forcedGc : SAMPLE_GAP_MS.noGc));
  }
  return { rss, heap, gcForced };
}

