/**
 * `imgroup bench --suite`: the workloads of suite-plan.ts one after the other against one
 * cluster (started once, or `--target`), each with ids of its own, so none sees another's groups.
 * The 1,000-member group runs at its maximum first, then open loop at half and a quarter of the
 * messages/s it reached. A workload that fails is recorded with its error and the suite goes on.
 *
 * For many small groups the session cache's memory is measured per logic node: the V8 heap in use
 * after a forced full GC (through the node's inspector) once every member is connected and again
 * after the measured phase, connections still open. The growth is what the workload left in the
 * node — the member lists and presence of its groups, and anything else the node keeps per group
 * (so an upper bound of the cache) — shown beside the cache's own estimate
 * (`imgroup_logic_session_cache_bytes`) and its entries.
 */
import type { BenchTarget } from './bench-target.js';
import { type IdleResult, runIdle } from './idle-run.js';
import { runLoginStorm, type StormResult } from './login-storm.js';
import { scrapeAll, total } from './metrics-scrape.js';
import { type MemorySample, sampleMemory } from './process-memory.js';
import type { ProgressSink } from './progress-line.js';
import type { RunSubject } from './run-subject.js';
import { atFractionOfMax, type SuiteWorkload, type SuiteWorkloadName, suiteWorkloads } from './suite-plan.js';
import { type RunResult, runWorkload } from './workload-run.js';
import type { BenchOptions } from './bench-options.js';

/** The session cache of one logic node after a workload. */
export interface LogicCacheMemory {
  node: number;
  heapBytesBefore: number | null;
  heapBytesAfter: number | null;
  /** after − before: what the workload left in the node's heap. */
  heapGrowthBytes: number | null;
  /** The cache's own estimate (imgroup_logic_session_cache_bytes) after the workload. */
  estimatedBytes: number | null;
  entries: { members: number | null; presence: number | null };
  gcForced: boolean;
}

interface EntryBase {
  name: SuiteWorkloadName;
  options: BenchOptions;
}

export type SuiteEntry =
  | (EntryBase & { kind: 'messages'; result: RunResult; sessionCache: LogicCacheMemory[] | null })
  | (EntryBase & { kind: 'login-storm'; result: StormResult })
  | (EntryBase & { kind: 'idle'; result: IdleResult })
  | (EntryBase & { kind: 'failed'; error: string });

export async function runSuite(o: BenchOptions, subject: RunSubject, target: BenchTarget, progress: ProgressSink): Promise<SuiteEntry[]> {
  const entries: SuiteEntry[] = [];
  let maxMessagesPerSec: number | null = null;
  for (const w of suiteWorkloads(o)) {
    let options = w.options;
    try {
      if (w.rateOfMax !== undefined) {
        if (maxMessagesPerSec === null) throw new Error('group-1000-max measured no rate to take a fraction of');
        options = atFractionOfMax(w, maxMessagesPerSec);
      }
      progress.step(`suite: ${w.name}…`);
      const entry = await runOne(w, options, subject, target, progress);
      if (w.name === 'group-1000-max' && entry.kind === 'messages') maxMessagesPerSec = entry.result.messagesPerSec;
      entries.push(entry);
    } catch (err) {
      entries.push({ name: w.name, options, kind: 'failed', error: err instanceof Error ? err.message : String(err) });
    }
  }
  return entries;
}

async function runOne(w: SuiteWorkload, o: BenchOptions, subject: RunSubject, target: BenchTarget, progress: ProgressSink): Promise<SuiteEntry> {
  const named = { ...subject, name: w.name };
  switch (w.kind) {
    case 'idle':
      return { name: w.name, options: o, kind: 'idle', result: await runIdle(o, named, { opsUrl: target.gateOpsUrls[0] as string, collectGarbage: () => target.collectGateGarbage() }, progress) };
    case 'login-storm':
      return { name: w.name, options: o, kind: 'login-storm', result: await runLoginStorm(o, named, target.redis, progress) };
    case 'messages': {
      if (!w.measureLogicHeap || target.logicProbes.length === 0) return { name: w.name, options: o, kind: 'messages', result: await runWorkload(o, named, progress), sessionCache: null };
      let before: MemorySample[] = [];
      let after: MemorySample[] = [];
      let gauges: Array<{ bytes: number | null; members: number | null; presence: number | null }> = [];
      const result = await runWorkload(o, named, progress, {
        connected: async () => {
          before = await sampleLogic(target, progress, 'logic heap before');
        },
        measured: async () => {
          after = await sampleLogic(target, progress, 'logic heap after');
          gauges = await Promise.all(
            target.logicProbes.map(async (p) => {
              const s = await scrapeAll([p.opsUrl]);
              return {
                bytes: total(s, 'imgroup_logic_session_cache_bytes'),
                members: total(s, 'imgroup_logic_session_cache_entries', { kind: 'members' }),
                presence: total(s, 'imgroup_logic_session_cache_entries', { kind: 'presence' }),
              };
            }),
          );
        },
      });
      const sessionCache = target.logicProbes.map((_, node): LogicCacheMemory => {
        const b = before[node]?.heap ?? null;
        const a = after[node]?.heap ?? null;
        const g = gauges[node];
        return {
          node,
          heapBytesBefore: b,
          heapBytesAfter: a,
          heapGrowthBytes: a === null || b === null ? null : a - b,
          estimatedBytes: g?.bytes ?? null,
          entries: { members: g?.members ?? null, presence: g?.presence ?? null },
          gcForced: (before[node]?.gcForced ?? false) && (after[node]?.gcForced ?? false),
        };
      });
      return { name: w.name, options: o, kind: 'messages', result, sessionCache };
    }
  }
}

/** Heap of every logic node, one after the other (a forced GC stalls the node it runs in). */
async function sampleLogic(target: BenchTarget, progress: ProgressSink, label: string): Promise<MemorySample[]> {
  const out: MemorySample[] = [];
  for (const [i, probe] of target.logicProbes.entries()) out.push(await sampleMemory(probe, progress, `${label} (logic ${i})`));
  return out;
}
