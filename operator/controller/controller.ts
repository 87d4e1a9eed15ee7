/**
 * The ImGroupCluster operator's controllers on one set of informers (controller-runtime's
 * manager): the membership controller (logic pods → N-membership, small and fast), the cluster
 * controller (objects and status) and, with a Redis driver, the Redis controller (the Redis
 * Cluster lifecycle). Each has its own work queue of cluster keys — one worker per key,
 * level-triggered, rate-limited retries — so none waits for another's work: a Redis step that
 * takes seconds delays no membership publish and no status.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, KubernetesObjectApi, NetworkingV1Api } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from '../../runtime/ops/logger.js';
import type { BackoffBounds } from '../../runtime/retry/backoff.js';
import type { NetworkPolicyInputs } from '../desired/network-policies.js';
import type { RuntimeDefaults } from '../desired/runtime-pod.js';
import type { ClusterObjectsOptions } from '../reconcile/cluster-objects.js';
import { createEventRecorder } from '../reconcile/event-recorder.js';
import type { RedisDriver } from '../reconcile/redis-driver.js';
import { RedisObservations } from '../reconcile/redis-observations.js';
import type { RedisLifecycleResult } from '../redis/lifecycle-types.js';
import { ClusterController } from './cluster-controller.js';
import { type ControllerMetrics, createControllerMetrics, forgetClusterConditions, recordClusterConditions } from './controller-metrics.js';
import { InformerSet } from './informer-set.js';
import { MembershipController } from './membership-controller.js';
import type { ReconcileLoop } from './reconcile-loop.js';
import { RedisController } from './redis-controller.js';

export interface ControllerOptions {
  kc: KubeConfig;
  /** Watch only this namespace; undefined = all namespaces. */
  namespace?: string;
  log: Logger;
  registry: Registry;
  /** Or metrics already made on `registry` (when the caller exports them too). */
  metrics?: ControllerMetrics;
  /** Concurrent reconciles (different keys) of each controller. Default 2. */
  workers?: number;
  /** Informer re-list period. Default 300000 ms. */
  resyncMs?: number;
  /** Informer watchdog: restart after this long without an event. Default 600000 ms. */
  stallMs?: number;
  /** Requeue while replicas are not ready. Default 30000 ms. */
  waitRequeueMs?: number;
  /** Backoff of transient errors (cluster and membership controllers): base and cap. Defaults 5 ms and 300000 ms. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Backoff of Redis steps that failed: base and cap. Defaults 1000 ms and 30000 ms. */
  redisBackoffBaseMs?: number;
  redisBackoffMaxMs?: number;
  /** Work queue bound, per controller. Default 100000 keys. */
  maxQueueDepth?: number;
  /** The operator's defaults of gate and logic pods (its default runtime image). */
  runtime?: RuntimeDefaults;
  /**
   * The NetworkPolicy feature (IMGROUP_OPERATOR_NETWORK_POLICIES): absent, the operator neither
   * makes, watches nor deletes NetworkPolicies.
   */
  networkPolicies?: NetworkPolicyInputs;
  /** The Redis Cluster lifecycle; absent: the operator only applies the Redis StatefulSet. */
  redis?: RedisDriver;
  onRedisStep?: (namespace: string, clusterName: string, result: RedisLifecycleResult) => void;
  onClusterGone?: (namespace: string, clusterName: string) => void;
}

export class ImGroupController {
  readonly metrics: ControllerMetrics;
  private readonly informers: InformerSet;
  private readonly loops: ReconcileLoop[] = [];
  private running = false;
  /** Set once stopping or halted: this controller never starts again. */
  private stopped: Promise<void> | undefined;

  constructor(private readonly opts: ControllerOptions) {
    const { kc, log } = opts;
    this.metrics = opts.metrics ?? createControllerMetrics(opts.registry);
    const metrics = this.metrics;
    const informers = new InformerSet({
      kc,
      log,
      metrics,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      ...(opts.resyncMs ? { resyncMs: opts.resyncMs } : {}),
      ...(opts.stallMs ? { stallMs: opts.stallMs } : {}),
      networkPolicies: opts.networkPolicies !== undefined,
    });
    this.informers = informers;
    const core = kc.makeApiClient(CoreV1Api);
    const objects: ClusterObjectsOptions = {
      objects: KubernetesObjectApi.makeApiClient(kc),
      core,
      custom: kc.makeApiClient(CustomObjectsApi),
      ...(opts.networkPolicies ? { networking: kc.makeApiClient(NetworkingV1Api) } : {}),
      readCached: (apiVersion, kind, namespace, name) => informers.readCached(apiVersion, kind, namespace, name),
      listPods: (namespace, name, component) => informers.podsOf(namespace, name, component),
    };
    const events = createEventRecorder({ core, log });
    const workers = opts.workers ?? 2;
    const backoff: BackoffBounds = { minMs: opts.backoffBaseMs ?? 5, maxMs: opts.backoffMaxMs ?? 300_000 };
    const queue = { metrics, workers, ...(opts.maxQueueDepth !== undefined ? { maxQueueDepth: opts.maxQueueDepth } : {}) };
    const observations = opts.redis ? new RedisObservations() : undefined;

    const membership = new MembershipController({ ...queue, informers, objects, backoff, log: log.child({ component: 'membership' }) });
    const cluster = new ClusterController({
      ...queue,
      informers,
      backoff,
      log: log.child({ component: 'reconcile' }),
      reconciler: {
        ...objects,
        events,
        log: log.child({ component: 'reconcile' }),
        ...(opts.waitRequeueMs !== undefined ? { waitRequeueMs: opts.waitRequeueMs } : {}),
        ...(opts.runtime ? { runtime: opts.runtime } : {}),
        ...(opts.networkPolicies ? { networkPolicies: opts.networkPolicies } : {}),
        ...(observations ? { redis: observations } : {}),
        onClusterGone: (namespace, name) => forgetClusterConditions(metrics, `${namespace}/${name}`),
        onStatus: (namespace, name, status) => recordClusterConditions(metrics, `${namespace}/${name}`, status.conditions ?? []),
      },
    });
    this.loops.push(membership.loop, cluster.loop);
    if (opts.redis && observations) {
      const redisLog = log.child({ component: 'redis-controller' });
      const redis = new RedisController({
        ...queue,
        informers,
        log: redisLog,
        backoff: { minMs: opts.redisBackoffBaseMs ?? 1000, maxMs: opts.redisBackoffMaxMs ?? 30_000 },
        reconciler: {
          ...objects,
          events,
          log: redisLog,
          driver: opts.redis,
          observations,
          ...(opts.onRedisStep ? { onStep: opts.onRedisStep } : {}),
          ...(opts.onClusterGone ? { onClusterGone: opts.onClusterGone } : {}),
        },
      });
      this.loops.push(redis.loop);
    }
  }

  /** Null when every informer has listed once, else the reason (for /readyz). */
  readiness(): string | null {
    return this.informers.readiness();
  }

  async start(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    await this.informers.start();
    if (!this.running) return; // halted while the informers listed
    for (const loop of this.loops) loop.start();
  }

  /** Stop: no new work; wait for the reconciles in flight, then close. */
  async stop(): Promise<void> {
    if (!this.running && !this.stopped) return; // never started
    this.shutDown(false);
    await this.stopped;
  }

  /**
   * Stop acting now (the leader Lease is lost): no key is handed out again, and Redis connections
   * close at once (a Redis step in flight fails). Returns without waiting; the reconciles in
   * flight are not finished but cut off, their API requests failing on the leadership fence
   * (leadership-fence.ts). `stop()` afterwards waits for the rest to settle.
   */
  halt(): void {
    this.shutDown(true);
  }

  private shutDown(halt: boolean): void {
    if (this.stopped) return;
    this.running = false;
    const loopsDone = Promise.all(this.loops.map((l) => l.shutDown()));
    const redisClosed = halt ? this.opts.redis?.close() : undefined;
    this.stopped = (async () => {
      await this.informers.stop();
      await loopsDone;
      await (redisClosed ?? this.opts.redis?.close());
    })();
  }
}
