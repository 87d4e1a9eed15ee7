/**
 * `imgroup gate`: parse options, make the root logger, registry and Redis store, start the gate
 * and its ops port, and shut down gracefully on SIGTERM/SIGINT. The only gate file that touches
 * the process (exit code, signals); argv and env are passed in by the CLI.
 */
import { Registry } from 'prom-client';
import type { LevelWithSilent } from 'pino';
import { redisConnectOptions } from '../config/common-options.js';
import { ConfigError } from '../config/options.js';
import { createLogger } from '../ops/logger.js';
import { startOpsServer } from '../ops/ops-server.js';
import { collectProcessMetrics } from '../ops/process-metrics.js';
import { createRedisMetrics } from '../redis/redis-metrics.js';
import { ThrottledLog } from '../ops/throttled-log.js';
import { CommandBudget } from '../redis/command-budget.js';
import { createCluster, logNodeErrors, type RedisConnectOptions, RedisStore } from '../redis/redis-store.js';
import { type ResolvedGateOptions, resolveGateOptions } from './config.js';
import { startGate } from './gate-node.js';

/**
 * Run a gate until SIGTERM or SIGINT. Invalid options (also those found unusable at start, such
 * as a kubeconfig that cannot be loaded) print their message and exit with code 2; any other
 * failure to start exits with code 1.
 */
export async function runGate(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<void> {
  let resolved: ResolvedGateOptions;
  let redis: RedisConnectOptions;
  try {
    resolved = resolveGateOptions(argv, env);
    redis = redisConnectOptions(resolved.options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`imgroup gate: ${err.message}\n`);
    process.exit(2);
  }
  const { options, warnings } = resolved;
  const log = createLogger('imgroup-gate', options.logLevel as LevelWithSilent);
  for (const w of warnings) log.warn(w);

  const registry = new Registry();
  collectProcessMetrics(registry);
  const cluster = createCluster(redis);
  cluster.on('error', (err: Error) => log.warn({ err: err.message }, 'redis cluster error'));
  logNodeErrors(cluster, new ThrottledLog(log, options.refusalLogIntervalMs), redis.tls);
  const store = new RedisStore(cluster, createRedisMetrics(registry), new CommandBudget({ maxCommands: options.redisMaxPendingCommands, maxBytes: options.redisMaxPendingBytes }));

  let gate: Awaited<ReturnType<typeof startGate>>;
  try {
    gate = await startGate(options, { log, registry, store });
  } catch (err) {
    // A setting found unusable only at start (e.g. a kubeconfig that cannot be loaded) is still a
    // configuration error: exit 2 with its message, as for invalid options.
    const config = err instanceof ConfigError;
    if (config) process.stderr.write(`imgroup gate: ${err.message}\n`);
    log.fatal({ err }, config ? 'gate configuration is unusable' : 'gate failed to start');
    await store.close();
    process.exit(config ? 2 : 1);
  }
  const ops = await startOpsServer({ host: options.opsHost, port: options.opsPort, registry, readiness: gate.readiness, handshakeTimeoutMs: options.handshakeTimeoutMs }).catch(async (err: Error) => {
    log.fatal({ err }, 'ops port failed to start');
    await gate.close();
    await store.close();
    process.exit(1);
  });
  log.info({ gate: gate.name, boot: gate.bootId, port: gate.port, opsPort: ops.port, mode: options.mode }, 'gate started');

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal, drainWindowMs: options.drainWindowMs, shutdownTimeoutMs: options.shutdownTimeoutMs }, 'shutting down');
      const force = setTimeout(() => {
        log.error('shutdown took too long; exiting');
        process.exit(1);
      }, options.shutdownTimeoutMs);
      force.unref();
      void (async () => {
        await gate.close();
        await ops.close();
        await store.close();
        resolve();
      })();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  log.flush();
  process.exit(0);
}
