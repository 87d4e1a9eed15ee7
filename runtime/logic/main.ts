/**
 * `imgroup logic`: resolve options from flags and environment, wire logger, metrics, Redis and
 * the ops port, start the node, and shut down gracefully on SIGTERM/SIGINT (a second signal
 * exits at once). The only module of the logic node that touches the process.
 */
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { redisConnectOptions } from '../config/common-options.js';
import { ConfigError } from '../config/options.js';
import { createLogger } from '../ops/logger.js';
import { startOpsServer } from '../ops/ops-server.js';
import { collectProcessMetrics } from '../ops/process-metrics.js';
import { createRedisMetrics } from '../redis/redis-metrics.js';
import { ThrottledLog } from '../ops/throttled-log.js';
import { CommandBudget } from '../redis/command-budget.js';
import { createCluster, logNodeErrors, type RedisConnectOptions, RedisStore } from '../redis/redis-store.js';
import { type LogicOptions, resolveLogicOptions } from './config.js';
import { type LogicNode, startLogic } from './logic-node.js';

export async function runLogic(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<void> {
  let options: LogicOptions;
  let warnings: string[];
  let redis: RedisConnectOptions;
  try {
    ({ options, warnings } = resolveLogicOptions(argv, env, { hostname: hostname() }));
    redis = redisConnectOptions(options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`imgroup logic: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  const log = createLogger('imgroup-logic', options.logLevel as Parameters<typeof createLogger>[1]).child({ node: options.name });
  for (const w of warnings) log.warn(w);

  const registry = new Registry();
  collectProcessMetrics(registry);
  const store = new RedisStore(
    createCluster(redis),
    createRedisMetrics(registry),
    new CommandBudget({ maxCommands: options.redisMaxPendingCommands, maxBytes: options.redisMaxPendingBytes }),
  );
  store.cluster.on('error', (err: Error) => log.debug({ err }, 'redis cluster client error'));
  logNodeErrors(store.cluster, new ThrottledLog(log, options.refusalLogIntervalMs), redis.tls);
  let node: LogicNode | null = null;
  /** Set on SIGTERM: /readyz fails at once, so the operator takes the node out of the membership. */
  let draining = false;
  const ops = await startOpsServer({
    host: options.opsHost,
    port: options.opsPort,
    registry,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    readiness: [
      { name: 'internal-endpoint', check: () => (node ? null : 'not listening yet') },
      { name: 'draining', check: () => (draining ? 'logic node is draining (shutting down)' : null) },
      { name: 'redis', check: async () => ((await store.ping()) ? null : 'Redis Cluster does not answer') },
    ],
  });
  try {
    node = await startLogic(options, { log, registry, store });
  } catch (err) {
    await ops.close();
    await store.close();
    throw err;
  }
  log.info({ port: node.port, opsPort: ops.port, redisSeeds: options.redisSeeds }, 'imgroup logic started');

  const started = node;
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      draining = true;
      log.info({ signal }, 'shutting down');
      void started
        .close()
        .catch((err: unknown) => log.error({ err }, 'logic node did not close cleanly'))
        .then(() => ops.close())
        .then(() => store.close())
        .finally(() => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          log.info('imgroup logic stopped');
          resolve();
        });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
