/**
 * What a benchmark run talks to: either a whole local cluster it starts itself (Redis Cluster,
 * logic nodes, gates — `startDevCluster` on free ports in a temporary directory, with the cache
 * settings of the run passed to every process), or an existing cluster named by `--target`.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startDevCluster } from '../dev/dev-cluster.js';
import { createRedisMetrics } from '../redis/redis-metrics.js';
import { createCluster, RedisStore } from '../redis/redis-store.js';
import type { BenchOptions } from './bench-options.js';
import { getFreePortRange as freePortRange } from '../dev/free-ports.js';
import { collectGarbage, inspectorUrlFromLog } from './inspector-gc.js';
import type { MemoryProbe } from './process-memory.js';

export interface BenchTarget {
  /** Client WebSocket URLs of the gates (`ws://host:port/v1/ws`). */
  clientUrls: string[];
  /** Admin API base URLs of the gates (`http://host:port`). */
  adminUrls: string[];
  adminToken: string;
  jwtSecret: string;
  /** Ops URLs of the gates. */
  gateOpsUrls: string[];
  /** Ops URLs of every gate and logic node (scraped for Redis load); may be empty with --target. */
  opsUrls: string[];
  /** Redis, for reading cursors; null when unknown. */
  redis: RedisStore | null;
  /** Run a full garbage collection in the first gate (started clusters with its inspector open); false when not possible. */
  collectGateGarbage(): Promise<boolean>;
  /** Each logic node's ops URL and forced GC (a started cluster's; empty with --target). */
  logicProbes: MemoryProbe[];
  close(): Promise<void>;
}

/** Settings every process of a started cluster gets, whatever the run. */
function benchEnv(o: BenchOptions, run: Record<string, string>): Record<string, string> {
  return {
    // The benchmark measures the message pipeline, not the per-connection abuse limit.
    IMGROUP_RATE_PER_SEC: '1000000',
    IMGROUP_RATE_BURST: '1000000',
    IMGROUP_MAX_MEMBERS_PER_GROUP: String(Math.max(10_000, o.groupSize)),
    ...run,
  };
}

const HOST = '127.0.0.1';
const START_ATTEMPTS = 3;

/** Start a local cluster for one run. `runEnv` goes to every gate and logic process. */
export async function startBenchCluster(
  o: BenchOptions,
  runEnv: Record<string, string>,
  label: string,
  parentEnv: Readonly<Record<string, string | undefined>>,
  say: (line: string) => void,
): Promise<BenchTarget> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const redisNodes = o.redisMasters * (1 + o.redisReplicas);
    const [redisBasePort, logicBasePort, logicOpsBasePort, gateBasePort, gateOpsBasePort] = [
      await freePortRange(redisNodes, { offset: 10_000 }),
      await freePortRange(o.logic),
      await freePortRange(o.logic),
      await freePortRange(o.gates),
      await freePortRange(o.gates),
    ] as [number, number, number, number, number];
    // A password keeps out stray processes of earlier clusters that still point at a reused port.
    const redisPassword = randomBytes(18).toString('base64url');
    try {
      const cluster = await startDevCluster(
        {
          host: HOST,
          redisMasters: o.redisMasters,
          redisReplicas: o.redisReplicas,
          redisBasePort,
          logicCount: o.logic,
          logicBasePort,
          logicOpsBasePort,
          gateCount: o.gates,
          gateBasePort,
          gateOpsBasePort,
          dataDir: o.dataDir === undefined ? undefined : join(o.dataDir, label),
          cpuProfDir: o.cpuProfDir,
          redisServer: o.redisServer,
          jwtSecret: randomBytes(32).toString('base64url'),
          adminToken: randomBytes(24).toString('base64url'),
          heartbeatMs: 15_000,
          logLevel: 'warn',
          extraEnv: benchEnv(o, runEnv),
          redisPassword,
        },
        parentEnv,
        say,
      );
      const redis = new RedisStore(createCluster({ seeds: cluster.redis.seeds, password: redisPassword, commandTimeoutMs: 5000 }), createRedisMetrics(new Registry()));
      const gateOpsUrls = cluster.gates.map((g) => g.opts.opsUrl);
      return {
        clientUrls: cluster.gateUrls.map((u) => `${u.replace(/^http/, 'ws')}/v1/ws`),
        adminUrls: cluster.gateUrls,
        adminToken: cluster.adminToken,
        jwtSecret: cluster.jwtSecret,
        gateOpsUrls,
        opsUrls: [...gateOpsUrls, ...cluster.logic.map((l) => l.opts.opsUrl)],
        redis,
        collectGateGarbage: async () => {
          const first = cluster.gates[0];
          return first ? collectGarbageOf(cluster.dataDir, first.name) : false;
        },
        logicProbes: cluster.logic.map((l) => ({ opsUrl: l.opts.opsUrl, collectGarbage: () => collectGarbageOf(cluster.dataDir, l.name) })),
        close: async () => {
          await redis.close();
          await cluster.stop();
        },
      };
    } catch (err) {
      lastError = err;
      if (!/EADDRINUSE|address already in use/i.test(String((err as Error)?.message))) throw err;
      say(`ports taken while starting (attempt ${attempt}); retrying on other ports…`);
    }
  }
  throw lastError;
}

/** A full GC in a process of a started cluster, through the inspector its log names; false without one. */
async function collectGarbageOf(dataDir: string, name: string): Promise<boolean> {
  const url = inspectorUrlFromLog(await readFile(join(dataDir, `${name}.log`), 'utf8').catch(() => ''));
  return url === null ? false : collectGarbage(url);
}

/** `http://h:p`, `ws://h:p`, with or without `/v1/ws` → the client URL and the admin base URL. */
export function gateUrls(url: string): { client: string; admin: string } {
  const u = new URL(url);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  const hostPort = u.host;
  return { client: `${secure ? 'wss' : 'ws'}://${hostPort}/v1/ws`, admin: `${secure ? 'https' : 'http'}://${hostPort}` };
}

/** An existing cluster named by --target. */
export function existingTarget(o: BenchOptions): BenchTarget {
  const urls = (o.target ?? []).map(gateUrls);
  const redis =
    o.redisSeeds.length > 0 ? new RedisStore(createCluster({ seeds: o.redisSeeds, password: o.redisPassword, commandTimeoutMs: 5000 }), createRedisMetrics(new Registry())) : null;
  return {
    clientUrls: urls.map((u) => u.client),
    adminUrls: urls.map((u) => u.admin),
    adminToken: o.adminToken ?? '',
    jwtSecret: o.jwtSecret ?? '',
    gateOpsUrls: o.metrics.slice(0, 1),
    opsUrls: o.metrics,
    redis,
    collectGateGarbage: async () => false,
    logicProbes: [],
    close: async () => {
      await redis?.close();
    },
  };
}
