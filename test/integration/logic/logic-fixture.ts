/**
 * A real logic node in-process (startLogic on port 0) against the shared test Redis Cluster,
 * plus a RedisStore of its own for the test to inspect and to write presence with.
 */
import { randomBytes } from 'node:crypto';
import { type Logger, pino } from 'pino';
import { Registry } from 'prom-client';
import { resolveLogicOptions, type LogicOptions } from '../../../runtime/logic/config.js';
import { type LogicNode, startLogic } from '../../../runtime/logic/logic-node.js';
import { createRedisMetrics } from '../../../runtime/redis/redis-metrics.js';
import { createCluster, RedisStore } from '../../../runtime/redis/redis-store.js';
import { GateDriver } from './gate-driver.js';

export const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;

export interface TestLogic {
  node: LogicNode;
  options: LogicOptions;
  url: string;
  token: string;
  registry: Registry;
  /** A separate connection for the test itself. */
  store: RedisStore;
  driver(opts?: { gate?: string; boot?: string }): Promise<GateDriver>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startTestLogic(
  redisSeeds: readonly string[],
  env: Record<string, string> = {},
  opts: {
    /** The node's root logger (default: silent, or IMGROUP_TEST_LOG_LEVEL's level). */ log?: Logger;
    /** The sweep's clock (default Date.now). */ sweepClock?: () => number;
  } = {},
): Promise<TestLogic> {
  const token = randomBytes(16).toString('hex');
  const { options } = resolveLogicOptions([], {
    IMGROUP_REDIS_SEEDS: redisSeeds.join(','),
    IMGROUP_INTERNAL_TOKEN: token,
    IMGROUP_LOGIC_HOST: '127.0.0.1',
    IMGROUP_LOGIC_PORT: '0',
    IMGROUP_OPS_PORT: '0',
    IMGROUP_SWEEP_INTERVAL_MS: '0',
    IMGROUP_HEARTBEAT_MS: '1000',
    ...env,
  });
  const registry = new Registry();
  const log = opts.log ?? pino({ level: process.env.IMGROUP_TEST_LOG_LEVEL ?? 'silent' });
  const node = await startLogic(options, { log, registry, ...(opts.sweepClock ? { sweepClock: opts.sweepClock } : {}) });
  const store = new RedisStore(createCluster({ seeds: redisSeeds, commandTimeoutMs: 5000 }), createRedisMetrics(new Registry()));
  store.cluster.on('error', () => undefined);
  const url = `ws://127.0.0.1:${node.port}`;
  const drivers: GateDriver[] = [];
  return {
    node,
    options,
    url,
    token,
    registry,
    store,
    async driver(opts = {}) {
      const d = await GateDriver.connect(url, { token, ...opts });
      drivers.push(d);
      return d;
    },
    async metric(name, labels = {}) {
      const m = await registry.getSingleMetric(name)?.get();
      if (!m) return 0;
      return m.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((s, v) => s + v.value, 0);
    },
    async close() {
      for (const d of drivers) d.close();
      await node.close();
      await store.close();
    },
  };
}
