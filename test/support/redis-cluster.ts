/**
 * A real Redis Cluster of local redis-server processes for one test file or one test run:
 * free loopback ports, a temporary directory under os.tmpdir() (removed by stop()), a short
 * cluster-node-timeout so failures are detected quickly. Formed by our own cluster admin.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClusterAdmin } from '../../runtime/redis-cluster/cluster-admin.js';
import { startLocalRedisCluster } from '../../runtime/dev/local-redis-cluster.js';
import type { RedisServerProcess } from '../../runtime/dev/redis-server-process.js';
import type { RedisServerTlsFiles } from '../../runtime/redis/redis-server-tls.js';
import { Cluster } from 'ioredis';
import { parseSeed } from '../../runtime/redis/redis-store.js';
import { getFreePorts } from './free-ports.js';

export interface StartRedisClusterOptions {
  /** Default 3. */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** Default 2000 ms: short, but safe on a busy 2-core machine. */
  clusterNodeTimeoutMs?: number;
  password?: string;
  /** redis-server binary. Default `redis-server`. */
  redisServer?: string;
  /** Serve TLS only (client port, bus, replication) with these files (test/support/test-certs.ts makes them). */
  tls?: RedisServerTlsFiles;
  /** A host name every node announces, by which clients reach it (and check its certificate). */
  announceHostname?: string;
}

export interface TestRedisCluster {
  /** `127.0.0.1:port` of every node, masters first. */
  seeds: string[];
  /** The node processes (index i ↔ seeds[i]); kill() one to simulate a crash. */
  nodes: RedisServerProcess[];
  admin: RedisClusterAdmin;
  /** Temporary directory holding every node's nodes.conf and redis.log. */
  dir: string;
  /** Stop every node and remove the directory. */
  stop(): Promise<void>;
}

/** Attempts with fresh ports when a port was taken between the probe and redis-server's bind. */
const ATTEMPTS = 3;

export async function startRedisCluster(opts: StartRedisClusterOptions = {}): Promise<TestRedisCluster> {
  const masters = opts.masters ?? 3;
  const count = masters * (1 + (opts.replicasPerMaster ?? 1));
  const dir = await mkdtemp(join(tmpdir(), 'imgroup-redis-'));
  for (let attempt = 1; ; attempt++) {
    const ports = await getFreePorts(2 * count);
    try {
      const cluster = await startLocalRedisCluster({
        masters,
        replicasPerMaster: opts.replicasPerMaster ?? 1,
        ports: ports.slice(0, count),
        busPorts: ports.slice(count),
        dir: join(dir, `attempt-${attempt}`),
        clusterNodeTimeoutMs: opts.clusterNodeTimeoutMs ?? 2000,
        password: opts.password,
        redisServer: opts.redisServer,
        tls: opts.tls,
        announceHostname: opts.announceHostname,
      });
      return {
        seeds: cluster.seeds,
        nodes: cluster.nodes,
        admin: cluster.admin,
        dir,
        stop: async () => {
          await cluster.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      if (attempt >= ATTEMPTS || !/address already in use/i.test(String((err as Error).message))) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

/** A plain ioredis Cluster client of `seeds` (`host:port`), for tests that look at keys directly. */
export function clusterClient(seeds: readonly string[]): Cluster {
  return new Cluster(seeds.map(parseSeed));
}
