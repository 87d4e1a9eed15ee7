/**
 * Level-triggered reconcile of one cluster's Redis Cluster: one step of the Redis lifecycle
 * (bootstrap, repair, scaling) when the pods and the password are there. What it found is
 * recorded as a typed observation (redis-observations.ts), from which the cluster reconciler
 * writes status.redis, the conditions and N-redis's replicas; the step's actions become Events.
 *
 * Outcomes: a step that ran comes back when the step asks (`requeueAfterMs`) or, while the Redis
 * Cluster is Degraded or waiting, after `degradedRequeueMs`; a step that could not reach the
 * cluster is retried with the Redis queue's backoff (`requeue`, not an operator error: the
 * cluster reports it as Degraded, RedisUnreachable); an API error is `transient`.
 */
import type { Logger } from '../../runtime/ops/logger.js';
import type { ImGroupCluster } from '../api/v1alpha1.js';
import { resolveImGroupCluster, type ValidImGroupCluster } from '../api/validation.js';
import { AUTH_SECRET_KEYS, authSecretName } from '../desired/auth-secret.js';
import { objectNames } from '../desired/cluster-context.js';
import { REDIS_PORT } from '../desired/ports.js';
import { redisPodHost } from '../desired/redis-config.js';
import { redisTargetReplicas } from '../desired/redis-statefulset.js';
import { REDIS_TLS_SECRET_KEYS } from '../desired/redis-tls.js';
import { checkCaPem, type RedisTls } from '../../runtime/redis/redis-tls.js';
import type { LifecycleAction, RedisLifecycleResult } from '../redis/lifecycle-types.js';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { asError, isNotFound } from './api-errors.js';
import { ClusterObjects, type ClusterObjectsOptions } from './cluster-objects.js';
import { eventTarget, type EventRecorder } from './event-recorder.js';
import type { ReconcileOutcome } from './outcome.js';
import type { RedisDriver } from './redis-driver.js';
import type { RedisObservation, RedisObservations } from './redis-observations.js';
import { redisPodViews } from './redis-status.js';

export interface RedisReconcilerOptions extends ClusterObjectsOptions {
  log: Logger;
  events: EventRecorder;
  /** The Redis lifecycle engines, one per cluster. */
  driver: RedisDriver;
  /** Where each observation goes (the cluster reconciler reads it). */
  observations: RedisObservations;
  /** Come back at least this often while the Redis Cluster is Degraded or waiting. Default 30000 ms. */
  degradedRequeueMs?: number;
  /** Every Redis lifecycle step's result (metrics). */
  onStep?: (namespace: string, clusterName: string, result: RedisLifecycleResult) => void;
  /** The cluster is gone (metrics of it can go). */
  onClusterGone?: (namespace: string, clusterName: string) => void;
}

export interface RedisReport {
  outcome: ReconcileOutcome;
  /** What this reconcile found; null when it did not look (cluster gone, invalid or paused). */
  observation: RedisObservation | null;
}

export class RedisReconciler {
  private readonly kube: ClusterObjects;

  constructor(private readonly opts: RedisReconcilerOptions) {
    this.kube = new ClusterObjects(opts);
  }

  /** Reconcile the Redis Cluster of `namespace/name` once. Never throws: every failure is an outcome. */
  async reconcile(namespace: string, name: string): Promise<RedisReport> {
    const key = `${namespace}/${name}`;
    let raw: ImGroupCluster;
    try {
      raw = await this.kube.getCluster(namespace, name);
    } catch (err) {
      if (!isNotFound(err)) return { outcome: { kind: 'transient', error: asError(err) }, observation: null };
      this.opts.observations.delete(key);
      await this.opts.driver.forget(key); // its engine's connections
      this.opts.onClusterGone?.(namespace, name);
      return { outcome: { kind: 'done' }, observation: null };
    }
    const resolved = resolveImGroupCluster(raw);
    if (!resolved.ok || resolved.cluster.spec.paused) return { outcome: { kind: 'done' }, observation: null };
    const cluster = resolved.cluster;
    let observation: RedisObservation;
    try {
      observation = await this.observe(cluster);
    } catch (err) {
      return { outcome: { kind: 'transient', error: asError(err) }, observation: null };
    }
    this.opts.observations.set(key, observation);
    if (observation.kind === 'stepped') await this.recordActions(cluster, observation.result.actions);
    return { outcome: this.outcomeOf(observation), observation };
  }

  /**
   * Look at the Redis Cluster and take one lifecycle step when the pods and password are there.
   * N-redis's replica count comes from the step (a scale-in waits for the leaving pods to be
   * drained); without a step it never shrinks: the live count, or the target on create.
   */
  private async observe(cluster: ValidImGroupCluster): Promise<RedisObservation> {
    const { namespace, name } = cluster.metadata;
    const names = objectNames(name);
    const target = redisTargetReplicas(cluster.spec);
    const liveSts = await this.kube.readLive<V1StatefulSet>('apps/v1', 'StatefulSet', namespace, names.redis);
    const liveReplicas = liveSts?.spec?.replicas;
    const keep = typeof liveReplicas === 'number' ? Math.max(liveReplicas, target) : target;
    const pods = redisPodViews(await this.kube.listPods(namespace, name, 'redis'), names.redis).map((p) => ({ ...p, host: redisPodHost({ names, namespace }, p.ordinal) }));
    const readyPods = pods.filter((p) => p.ready).length;
    if (liveSts === null || pods.length === 0) return { kind: 'waiting', for: 'pods', readyPods, replicas: keep };
    const password = await this.redisPassword(cluster);
    if (password === null) return { kind: 'waiting', for: 'password', readyPods, replicas: keep };
    const tls = await this.redisTls(cluster);
    if (tls === 'missing') return { kind: 'waiting', for: 'tls-secret', readyPods, replicas: keep };
    try {
      const result = await this.opts.driver.step(`${namespace}/${name}`, { password, tls }, {
        pods,
        masters: cluster.spec.redis.masters,
        replicasPerMaster: cluster.spec.redis.replicasPerMaster,
        port: REDIS_PORT,
        statefulSetReplicas: typeof liveReplicas === 'number' ? liveReplicas : target,
      });
      this.opts.onStep?.(namespace, name, result);
      return { kind: 'stepped', result, readyPods, replicas: result.statefulSetReplicas };
    } catch (err) {
      this.opts.log.warn({ err, cluster: `${namespace}/${name}` }, 'redis lifecycle step failed');
      return { kind: 'unreachable', error: asError(err), readyPods, replicas: typeof liveReplicas === 'number' ? liveReplicas : target };
    }
  }

  private outcomeOf(o: RedisObservation): ReconcileOutcome {
    const degradedMs = this.opts.degradedRequeueMs ?? 30_000;
    switch (o.kind) {
      case 'unreachable':
        return { kind: 'requeue', reason: 'redis lifecycle step failed' };
      case 'waiting':
        return { kind: 'requeueAfter', afterMs: degradedMs, reason: `waiting for ${o.for}` };
      case 'stepped': {
        const waits: number[] = [];
        if (o.result.requeueAfterMs !== null) waits.push(o.result.requeueAfterMs);
        if (o.result.conditions.degraded) waits.push(degradedMs);
        return waits.length === 0 ? { kind: 'done' } : { kind: 'requeueAfter', afterMs: Math.min(...waits), reason: `redis ${o.result.state}` };
      }
    }
  }

  /**
   * With spec.redis.tls: the CA (ca.crt of its Secret) the nodes' certificates must be signed by;
   * 'missing' while the Secret, its ca.crt or a valid PEM certificate in it is not there. Without: null.
   */
  private async redisTls(cluster: ValidImGroupCluster): Promise<RedisTls | null | 'missing'> {
    const ref = cluster.spec.redis.tls?.secretRef;
    if (!ref) return null;
    let b64: string | undefined;
    try {
      b64 = (await this.kube.core.readNamespacedSecret({ namespace: cluster.metadata.namespace, name: ref.name })).data?.[REDIS_TLS_SECRET_KEYS.ca];
    } catch (err) {
      if (isNotFound(err)) return 'missing';
      throw err;
    }
    if (!b64) return 'missing';
    const ca = Buffer.from(b64, 'base64').toString('utf8');
    try {
      checkCaPem(`${ref.name}/${REDIS_TLS_SECRET_KEYS.ca}`, ca);
    } catch (err) {
      this.opts.log.warn({ err, secret: ref.name }, 'the Redis TLS Secret holds no usable CA');
      return 'missing';
    }
    return { ca };
  }

  private async redisPassword(cluster: ValidImGroupCluster): Promise<string | null> {
    try {
      const secret = await this.kube.core.readNamespacedSecret({ namespace: cluster.metadata.namespace, name: authSecretName(cluster) });
      const b64 = secret.data?.[AUTH_SECRET_KEYS.redisPassword];
      return b64 ? Buffer.from(b64, 'base64').toString('utf8') : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async recordActions(cluster: ValidImGroupCluster, actions: readonly LifecycleAction[]): Promise<void> {
    for (const a of actions) {
      await this.opts.events.record(eventTarget(cluster), a.ok ? 'Normal' : 'Warning', redisEventReason(a), a.message);
    }
  }
}

/** Event reason of a Redis lifecycle action: `Redis` + the kind in CamelCase (+ `Failed`). */
function redisEventReason(a: LifecycleAction): string {
  const kind = a.kind.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return `Redis${kind}${a.ok ? '' : 'Failed'}`;
}
