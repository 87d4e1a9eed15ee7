/**
 * `imgroup operator`: resolve the options, connect (kubeconfig file or in-cluster), serve the ops
 * port, campaign for the leader Lease and run the controller only while leading; on SIGTERM/SIGINT
 * stop the controller, release the Lease (a standby takes over at once) and close the ops port.
 * A leader that loses its Lease halts the controller at once (its API requests are fenced off, see
 * controller/leadership-fence.ts) and the process exits 1, so that Kubernetes restarts it clean.
 */
import { hostname } from 'node:os';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { ConfigError, resolveOptions } from '../runtime/config/options.js';
import { createLogger } from '../runtime/ops/logger.js';
import { startOpsServer } from '../runtime/ops/ops-server.js';
import { collectProcessMetrics } from '../runtime/ops/process-metrics.js';
import { ImGroupController } from './controller/controller.js';
import { createControllerMetrics } from './controller/controller-metrics.js';
import { LeaderElector } from './controller/leader-election.js';
import { FencedKubeConfig } from './controller/leadership-fence.js';
import { loadKubeConfig, serviceAccountNamespace } from '../runtime/kube/kube-config.js';
import { type OperatorPods, operatorPods } from './desired/operator-pods.js';
import { lifecycleEngineFactory, RedisDriver } from './reconcile/redis-driver.js';
import type { RedisLifecycleResult } from './redis/lifecycle-types.js';
import { createRedisLifecycleMetrics, forgetLifecycleCluster, recordLifecycleStep } from './redis/redis-lifecycle-metrics.js';
import { OPERATOR_OPTIONS, type OperatorOptions } from './operator-options.js';

/**
 * Bound on asking one Redis pod during a lifecycle step: the Redis controller's next step of the
 * cluster (and so its status.redis) waits for this one, so an unreachable pod must not hold it long.
 */
const REDIS_OBSERVE_TIMEOUT_MS = 1500;

export interface RunningOperator {
  opsPort: number;
  isLeader: () => boolean;
  /** Resolves when this replica lost the leader Lease: it acts no more and its process is to exit 1. */
  leadershipLost: Promise<void>;
  stop: () => Promise<void>;
}

/** Start the operator and return once it serves (for tests and runOperator). */
export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  if (options.renewDeadlineMs >= options.leaseDurationMs) {
    throw new ConfigError('IMGROUP_LEADER_RENEW_DEADLINE_MS must be below IMGROUP_LEADER_LEASE_DURATION_MS');
  }
  let pods: OperatorPods | undefined;
  try {
    pods = operatorPods(options.podNamespace, options.podLabels);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const log = createLogger('imgroup-operator', options.logLevel as Parameters<typeof createLogger>[1]);
  if (options.networkPolicies && options.redisLifecycle && !pods) {
    log.warn('IMGROUP_OPERATOR_POD_NAMESPACE and IMGROUP_OPERATOR_POD_LABELS are not set: the Redis NetworkPolicies admit no operator pod (where they are enforced, an operator inside the cluster cannot reach Redis)');
  }
  const kc = loadKubeConfig({ kubeconfig: options.kubeconfig, serviceAccountDir: options.serviceAccountDir, requestTimeoutMs: options.requestTimeoutMs });
  const registry = new Registry();
  collectProcessMetrics(registry);
  const metrics = createControllerMetrics(registry);
  const redisMetrics = options.redisLifecycle ? createRedisLifecycleMetrics(registry) : null;
  /** Aborted when the Lease is lost: the controller's API requests stop at once. */
  const fence = new AbortController();
  const controllerKc = new FencedKubeConfig(kc, fence.signal);
  let onLost = () => {};
  const leadershipLost = new Promise<void>((resolve) => (onLost = resolve));
  const makeController = () =>
    new ImGroupController({
      kc: controllerKc,
      log,
      registry,
      metrics,
      workers: options.workers,
      runtime: { defaultImage: options.defaultImage },
      ...(options.networkPolicies ? { networkPolicies: { operatorPods: pods } } : {}),
      resyncMs: options.resyncMs,
      stallMs: options.stallMs,
      ...(options.namespace ? { namespace: options.namespace } : {}),
      ...(redisMetrics
        ? {
            redis: new RedisDriver(lifecycleEngineFactory(log, { stepBudgetMs: options.redisStepBudgetMs, migrateSlotsPerStep: options.redisSlotsPerStep, observeTimeoutMs: REDIS_OBSERVE_TIMEOUT_MS })),
            onRedisStep: (namespace: string, name: string, result: RedisLifecycleResult) => recordLifecycleStep(redisMetrics, `${namespace}/${name}`, result),
            onClusterGone: (namespace: string, name: string) => forgetLifecycleCluster(redisMetrics, `${namespace}/${name}`),
          }
        : {}),
    });
  let controller: ImGroupController | null = null;
  let transition = Promise.resolve();
  const elector = new LeaderElector({
    coordination: kc.makeApiClient(CoordinationV1Api),
    namespace: options.leaseNamespace ?? options.namespace ?? serviceAccountNamespace(options.serviceAccountDir) ?? 'default',
    name: options.leaseName,
    identity: options.identity ?? `${hostname()}-${process.pid}`,
    log,
    leaseDurationMs: options.leaseDurationMs,
    renewDeadlineMs: options.renewDeadlineMs,
    retryPeriodMs: options.retryPeriodMs,
    onStartedLeading: () => {
      metrics.isLeader.set(1);
      transition = transition.then(async () => {
        if (fence.signal.aborted) return;
        controller = makeController();
        await controller.start();
      });
    },
    onStoppedLeading: () => {
      // Not queued behind a start in progress: stop acting now, in this tick.
      metrics.isLeader.set(0);
      fence.abort(new Error('the leader Lease is lost'));
      controller?.halt();
      onLost();
    },
  });
  const ops = await startOpsServer({
    host: options.opsHost,
    port: options.opsPort,
    registry,
    readiness: [{ name: 'informers', check: () => {
          if (!elector.isLeader) return null; // a standby is ready: it is healthy and waits for the Lease
          return controller ? controller.readiness() : 'controller starting';
        }, }],
  });
  elector.start();
  log.info({ opsPort: ops.port, namespace: options.namespace ?? '(all)' }, 'imgroup operator started');
  return {
    opsPort: ops.port,
    isLeader: () => elector.isLeader,
    leadershipLost,
    stop: async () => {
      await transition;
      await controller?.stop();
      await elector.release();
      metrics.isLeader.set(0);
      await ops.close();
      log.info('imgroup operator stopped');
    },
  };
}

export async function runOperator(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { options } = resolveOptions(OPERATOR_OPTIONS, argv, env);
  const running = await startOperator(options);
  // As controller-runtime's manager: a lost Lease ends the process (non-zero), without a graceful
  // shutdown, and Kubernetes starts it again as a clean standby.
  void running.leadershipLost.then(() => process.exit(1));
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) process.exit(1);
      stopping = true;
      void running.stop().finally(() => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
