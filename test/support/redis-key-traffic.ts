/**
 * Keys through a real ioredis Cluster client, for end-to-end tests of the Redis lifecycle: write
 * `prefix:0 … prefix:N-1` with value `v<i>`, list the ones that do not read back, and a concurrent
 * client that keeps reading those keys and writing keys of its own (MOVED/ASK are the client's
 * business) while slots move, counting operations and every error that surfaced.
 */
import { Cluster, type ClusterOptions } from 'ioredis';
import { eventually } from './eventually.js';

export interface KeyClientOptions {
  /** Seeds (`host:port` or objects). */
  seeds: ReadonlyArray<{ host: string; port: number }>;
  password: string;
  /**
   * Maps announced `hostname:port` to a reachable address. Avoid it while slots move: ioredis
   * then retries a MOVED command on a random master (redis/ioredis#1582); make the announced
   * names resolvable instead (pod-dns-lookup.ts).
   */
  natMap?: (key: string) => { host: string; port: number } | null;
  /**
   * ioredis auto-pipelining. Default false: with it, a pipeline that meets MOVED/ASK for one of
   * its keys during a slot migration fails as a whole ("All keys in the pipeline should belong to
   * the same slots allocation group", or the MOVED itself) instead of being redirected — a known
   * ioredis limitation (redis/ioredis#2075, #1734), not a cluster fault. Fine for bulk writes on a
   * stable cluster.
   */
  autoPipelining?: boolean;
}

export function keyClient(o: KeyClientOptions): Cluster {
  const options: ClusterOptions = {
    ...(o.natMap ? { natMap: o.natMap } : {}),
    enableAutoPipelining: o.autoPipelining ?? false,
    redisOptions: { password: o.password, connectTimeout: 2000 },
    clusterRetryStrategy: (times) => (times > 20 ? null : 200),
  };
  const client = new Cluster([...o.seeds], options);
  // Node-level connection errors are retried by the client; only command failures count.
  client.on('error', () => undefined);
  return client;
}

/** Write `prefix:i` = `v<i>` for i < count, 500 at a time. */
export async function writeKeys(client: Cluster, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, count - i) }, (_, j) => client.set(`${prefix}:${i + j}`, `v${i + j}`)));
  }
}

/**
 * Wait until every master's replicas have acknowledged what this client wrote to it so far
 * (`WAIT 1` on the client's own connection to each master). Replication is asynchronous: a key
 * written just before its master is killed can be lost with it unless the replica has it.
 */
export async function replicated(client: Cluster): Promise<void> {
  await Promise.all(
    client.nodes('master').map((node) =>
      eventually(`writes to ${node.options.host}:${node.options.port} acknowledged by a replica`, async () => Number(await node.call('wait', '1', '1000')) >= 1),
    ),
  );
}

/** Keys of `prefix:0 … prefix:count-1` that do not read back as `v<i>` (with the value or error seen). */
export async function missingKeys(client: Cluster, prefix: string, count: number): Promise<string[]> {
  const missing: string[] = [];
  for (let i = 0; i < count; i += 500) {
    const replies = await Promise.all(
      Array.from({ length: Math.min(500, count - i) }, (_, j) =>
        client.get(`${prefix}:${i + j}`).then(
          (v) => (v === `v${i + j}` ? null : `${prefix}:${i + j}=${String(v)}`),
          (err: Error) => `${prefix}:${i + j}: ${err.message}`,
        ),
      ),
    );
    for (const r of replies) if (r !== null) missing.push(r);
  }
  return missing;
}

export interface TrafficReport {
  ops: number;
  /** Every error or wrong value the client saw (bounded to the first 100). */
  errors: string[];
  errorCount: number;
}

/**
 * A client reading `prefix:*` and writing/reading keys `live:<tag>:<i>` of its own until stopped.
 * `concurrency` loops run side by side. Use a client without auto-pipelining (see keyClient).
 */
export function concurrentTraffic(client: Cluster, prefix: string, count: number, tag: string, concurrency = 2): { stop: () => Promise<TrafficReport> } {
  const report: TrafficReport = { ops: 0, errors: [], errorCount: 0 };
  const fail = (what: string) => {
    report.errorCount++;
    if (report.errors.length < 100) report.errors.push(what);
  };
  let running = true;
  const loop = async (lane: number) => {
    for (let i = lane; running; i += concurrency) {
      const k = (i * 7919) % count;
      try {
        const v = await client.get(`${prefix}:${k}`);
        if (v !== `v${k}`) fail(`${prefix}:${k} read ${String(v)}`);
        await client.set(`live:${tag}:${i}`, String(i));
        const back = await client.get(`live:${tag}:${i}`);
        if (back !== String(i)) fail(`live:${tag}:${i} read ${String(back)}`);
        report.ops += 3;
      } catch (err) {
        fail(`op ${i}: ${(err as Error).message}`);
      }
    }
  };
  const loops = Promise.all(Array.from({ length: concurrency }, (_, lane) => loop(lane)));
  return {
    stop: async () => {
      running = false;
      await loops;
      return report;
    },
  };
}
