/**
 * `imgroup bench --idle N`: what an idle authenticated connection costs a gate. N clients (users
 * without groups, spread over the client workers) connect to one gate and stay silent; the
 * gate's resident memory and V8 heap in use are read from its own `/metrics` before and after,
 * each as the minimum of several scrapes a second apart, each scrape right after a full garbage
 * collection forced through the gate's inspector when the benchmark started the gate (so the
 * heap counts live objects only), and divided by N.
 */
import type { BenchOptions } from './bench-options.js';
import { type MemoryProbe, sampleMemory } from './process-memory.js';
import { grouped, type ProgressSink } from './progress-line.js';
import type { RunSubject } from './run-subject.js';
import { WorkerPool } from './worker-pool.js';
import { newRunId, workerSettings } from './workload-run.js';
import type { ConnectResult } from './worker-protocol.js';

export interface IdleResult {
  idleConnections: number;
  connected: number;
  rssBytesPerConnection: number | null;
  heapBytesPerConnection: number | null;
  rssBytesBefore: number | null;
  rssBytesAfter: number | null;
  heapBytesBefore: number | null;
  heapBytesAfter: number | null;
  /** Whether each sample followed a forced full garbage collection in the gate. */
  gcForced: boolean;
}

/** `subject` connects everyone to its first endpoint; `gateOpsUrl` is that gate's ops URL. */
export async function runIdle(o: BenchOptions, subject: RunSubject, gate: MemoryProbe, progress: ProgressSink): Promise<IdleResult> {
  const runId = newRunId();
  const n = o.idle;
  const conns = Array.from({ length: o.workers }, (_, w) =>
    Array.from({ length: Math.floor(n / o.workers) + (w < n % o.workers ? 1 : 0) }, (_, i) => ({ userId: `${runId}.idle${w}.${i}`, groupIds: [] as string[], endpoint: 0 })),
  );
  const pool = await WorkerPool.start(o.workers, workerSettings(o, 16), o.cpuProfDir);
  try {
    await new Promise((r) => setTimeout(r, o.settleMs));
    const before = await sampleMemory(gate, progress, 'before');
    progress.step(`connecting ${grouped(n)} idle connections to one gate over ${o.workers} client worker(s)…`);
    const urls = await Promise.all(conns.map((c) => subject.connectUrls(c)));
    const timer = setInterval(() => progress.status(`connected ${grouped(pool.progress().open)} / ${grouped(n)}`), 100);
    const results = await pool
      .all<ConnectResult>((w) => ({ type: 'connect', connections: (conns[w] ?? []).map((c, i) => ({ userId: c.userId, groupIds: c.groupIds, url: urls[w]?.[i] as string })) }), 'connected')
      .finally(() => clearInterval(timer));
    const connected = results.reduce((s, r) => s + r.ok, 0);
    const failed = results.reduce((s, r) => s + r.failed, 0);
    if (failed > 0) throw new Error(`${failed} of ${n} idle connections failed, e.g. ${results.flatMap((r) => r.errors).slice(0, 3).join('; ')}`);
    progress.step(`settling ${o.settleMs} ms (logins, presence writes), then sampling the gate's memory…`);
    await new Promise((r) => setTimeout(r, o.settleMs));
    const after = await sampleMemory(gate, progress, 'after');
    const per = (a: number | null, b: number | null) => (a === null || b === null || connected === 0 ? null : (a - b) / connected);
    return {
      idleConnections: n,
      connected,
      rssBytesPerConnection: per(after.rss, before.rss),
      heapBytesPerConnection: per(after.heap, before.heap),
      rssBytesBefore: before.rss,
      rssBytesAfter: after.rss,
      heapBytesBefore: before.heap,
      heapBytesAfter: after.heap,
      gcForced: before.gcForced && after.gcForced,
    };
  } finally {
    progress.step('closing connections…');
    await pool.close();
  }
}
