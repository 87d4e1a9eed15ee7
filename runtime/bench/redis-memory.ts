/**
 * Redis memory while a workload runs: `INFO memory` → `used_memory` of every Redis server the
 * cluster client knows (masters and replicas), sampled every `intervalMs` until stopped. The
 * login storm reports the peak of the sum over servers and each server's peak. Replies are
 * untrusted: a missing or malformed field leaves that server out of the sample.
 */
import type { RedisStore } from '../redis/redis-store.js';

export interface RedisMemoryPeak {
  /** used_memory summed over servers, at the first sample, bytes. */
  startBytes: number | null;
  /** Highest sum over servers seen in one sample, bytes. */
  peakBytes: number | null;
  /** Highest used_memory of each server (`host:port`), bytes. */
  peakByServer: Record<string, number>;
  samples: number;
}

/** `used_memory:<n>` of an INFO reply, or null. */
export function usedMemoryOf(info: unknown): number | null {
  if (typeof info !== 'string') return null;
  const m = /^used_memory:(\d+)\r?$/m.exec(info);
  if (!m) return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

/** One sample: used_memory of every server that answered. */
export async function sampleRedisMemory(store: RedisStore): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  await Promise.all(
    store.cluster.nodes('all').map(async (node) => {
      const bytes = usedMemoryOf(await node.info('memory').catch(() => null));
      if (bytes !== null) out.set(`${node.options.host}:${node.options.port}`, bytes);
    }),
  );
  return out;
}

/** Sample until `stop()`, which resolves to the peaks (one last sample included). */
export function watchRedisMemory(store: RedisStore, intervalMs: number): { stop(): Promise<RedisMemoryPeak> } {
  const peak: RedisMemoryPeak = { startBytes: null, peakBytes: null, peakByServer: {}, samples: 0 };
  const take = async () => {
    const sample = await sampleRedisMemory(store);
    if (sample.size === 0) return;
    let sum = 0;
    for (const [server, bytes] of sample) {
      sum += bytes;
      peak.peakByServer[server] = Math.max(peak.peakByServer[server] ?? 0, bytes);
    }
    peak.startBytes ??= sum;
    peak.peakBytes = Math.max(peak.peakBytes ?? 0, sum);
    peak.samples++;
  };
  let running: Promise<void> | null = take().finally(() => (running = null));
  const timer = setInterval(() => {
    // One sample at a time: a slow INFO does not pile up more.
    running ??= take().finally(() => (running = null));
  }, intervalMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
      await take();
      return peak;
    },
  };
}
