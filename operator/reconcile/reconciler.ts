/**
 * Level-triggered reconcile of one ImGroupCluster: read it and its objects, compute the desired
 * state (operator/desired), server-side apply (field manager `imgroup-operator`, force: we own
 * the fields we apply) only the objects whose applied hash differs (applied-hash.ts), create
 * `N-auth` only when absent, then write the status only when it differs. NotFound means done
 * (ownerReferences let the garbage collector delete the children).
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { type CoreV1Api, type CustomObjectsApi, type KubernetesObject, type KubernetesObjectApi, PatchStrategy, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from '../../runtime/ops/logger.js';
import type { MembershipDocument } from '../../runtime/protocol/membership.js';
import { GROUP, type ImGroupCluster, type ImGroupClusterStatus, PLURAL, VERSION } from '../api/v1alpha1.js';
import { formatFieldErrors, resolveImGroupCluster, type ValidImGroupCluster } from '../api/validation.js';
import { desiredAuthSecret, newAuthSecretValues, usesGeneratedAuthSecret } from '../desired/auth-secret.js';
import { objectNames } from '../desired/cluster-context.js';
import { type DesiredObject, desiredState } from '../desired/desired-objects.js';
import { desiredMembershipConfigMap, membershipDocument } from '../desired/membership-configmap.js';
import { APP_NAME, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME, MANAGER } from '../desired/object-meta.js';
import { apiStatus, asError, isConflict, isNotFound, isTerminalApiError } from './api-errors.js';
import { appliedHashOf, hashObject, withAppliedHash } from './applied-hash.js';
import { convergedStatus, failedStatus, pausedStatus } from './cluster-status.js';
import type { EventRecorder } from './event-recorder.js';
import type { ReconcileOutcome } from './outcome.js';
import type { LifecycleAction, RedisLifecycleResult } from '../redis/lifecycle-types.js';
import { redisTargetReplicas } from '../desired/redis-statefulset.js';
import { AUTH_SECRET_KEYS, authSecretName } from '../desired/auth-secret.js';
import { REDIS_PORT } from '../desired/ports.js';
import type { RuntimeDefaults } from '../desired/runtime-pod.js';
import { setConditions } from './conditions.js';
import type { RedisDriver } from './redis-driver.js';
import { redisConditions, redisPendingStatus, redisPodViews, redisStatusFromStep } from './redis-status.js';

export interface ReconcilerOptions {
  objects: KubernetesObjectApi;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  events: EventRecorder;
  log: Logger;
  /** The cluster's logic pods (e.g. from an informer cache). Default: list them from the API. */
  listLogicPods?: (namespace: string, clusterName: string) => Promise<V1Pod[]>;
  /**
   * Objects from informer caches: the object, null when the cache knows it is absent, or
   * undefined when this kind is not cached (then it is read from the API).
   */
  readCached?: (apiVersion: string, kind: string, namespace: string, name: string) => KubernetesObject | null | undefined;
  /** Called after the membership ConfigMap was written with a new version. */
  onMembershipPublished?: (namespace: string, clusterName: string, doc: MembershipDocument) => void;
  /** The operator's defaults of gate and logic pods (its default runtime image). */
  runtime?: RuntimeDefaults;
  /** Wait before looking again while replicas are not ready. Default 30000 ms. */
  waitRequeueMs?: number;
  /**
   * The Redis Cluster lifecycle (bootstrap, repair, scaling). Absent: the operator only applies the
   * Redis StatefulSet and reports nothing about the cluster inside it.
   */
  redis?: RedisDriver;
  /** The cluster's Redis pods (e.g. from an informer cache). Default: list them from the API. */
  listRedisPods?: (namespace: string, clusterName: string) => Promise<V1Pod[]>;
  /** Come back at least this often while the Redis Cluster is Degraded. Default 30000 ms. */
  redisDegradedRequeueMs?: number;
  /** Every Redis lifecycle step's result (metrics). */
  onRedisStep?: (namespace: string, clusterName: string, result: RedisLifecycleResult) => void;
  /** The cluster is gone (metrics of it can go). */
  onClusterGone?: (namespace: string, clusterName: string) => void;
  /** Attempts of a status write that meets 409 Conflict. Default 5. */
  maxConflictRetries?: number;
  randomBytes?: (size: number) => Uint8Array;
  now?: () => Date;
}

export interface ReconcileReport {
  outcome: ReconcileOutcome;
  /** Names (`Kind/name`) of the objects written by this reconcile; empty for a no-op. */
  applied: string[];
  statusWritten: boolean;
}

export function logicPodSelector(clusterName: string): string {
  return `${LABEL_NAME}=${APP_NAME},${LABEL_INSTANCE}=${clusterName},${LABEL_COMPONENT}=logic`;
}

export function redisPodSelector(clusterName: string): string {
  return `${LABEL_NAME}=${APP_NAME},${LABEL_INSTANCE}=${clusterName},${LABEL_COMPONENT}=redis`;
}

/** What the Redis part of one reconcile found and decided. */
interface RedisOutcome {
  /** The lifecycle step's result; null when no step ran (see `pending`). */
  result: RedisLifecycleResult | null;
  /** Why no step ran (or the step failed). */
  pending: string | null;
  /** Replicas of N-redis to apply. */
  replicas: number;
  readyPods: number;
}


export class Reconciler {
  private readonly opts: ReconcilerOptions;
  private readonly now: () => Date;
  /** Per cluster: the membership publish in progress (see applyMembership). */
  private readonly membershipChain = new Map<string, Promise<void>>();

  constructor(opts: ReconcilerOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => new Date());
  }

  /** Reconcile `namespace/name` once. Never throws: every failure is an outcome. */
  async reconcile(namespace: string, name: string): Promise<ReconcileReport> {
    const report: ReconcileReport = { outcome: { kind: 'done' }, applied: [], statusWritten: false };
    let raw: ImGroupCluster;
    try {
      raw = await this.getCluster(namespace, name);
    } catch (err) {
      if (isNotFound(err)) {
        await this.opts.redis?.forget(`${namespace}/${name}`); // its engine's connections
        this.opts.onClusterGone?.(namespace, name);
        return report;
      }
      report.outcome = { kind: 'transient', error: asError(err) };
      return report;
    }
    const log = this.opts.log.child({ cluster: `${namespace}/${name}` });
    const resolved = resolveImGroupCluster(raw);
    if (!resolved.ok) {
      const message = `invalid spec: ${formatFieldErrors(resolved.errors)}`;
      await this.recordFailure(raw, 'InvalidSpec', message, report);
      report.outcome = { kind: 'terminal', error: new Error(message) };
      return report;
    }
    const cluster = resolved.cluster;
    if (cluster.spec.paused) {
      await this.writeStatus(cluster, pausedStatus(cluster, this.now()), report).catch((err) => {
        report.outcome = { kind: 'transient', error: asError(err) };
      });
      return report;
    }
    try {
      const names = objectNames(name);
      // The membership ConfigMap first, before the Redis step (which may take a while): gates
      // wait for it, the rest can follow.
      await this.applyMembership(cluster, report);
      const pods = await this.listLogicPods(namespace, name);
      const redis = await this.redisStep(cluster, log);
      const desired = desiredState(cluster, { logicPods: pods, redisReplicas: redis.replicas, ...(this.opts.runtime ? { runtime: this.opts.runtime } : {}) });
      let gate: V1StatefulSet | undefined;
      let logic: V1StatefulSet | undefined;
      for (const obj of desired.objects) {
        if (isMembership(obj, names.membership)) continue; // applied above
        const live = await this.applyIfChanged(obj, report);
        if (obj.kind === 'StatefulSet' && obj.metadata?.name === names.gate) gate = live as V1StatefulSet;
        if (obj.kind === 'StatefulSet' && obj.metadata?.name === names.logic) logic = live as V1StatefulSet;
      }
      await this.ensureAuthSecret(cluster, report);
      if (report.applied.length > 0) {
        await this.opts.events.record(eventTarget(cluster), 'Normal', 'Applied', `applied ${report.applied.join(', ')}`);
      }
      await this.recordRedisActions(cluster, redis.result?.actions ?? []);
      const status = this.withRedisStatus(cluster, convergedStatus(cluster, { gate, logic, membership: desired.membership }, this.now()), redis);
      await this.writeStatus(cluster, status, report);
      report.outcome = this.outcomeOf(status, redis);
      return report;
    } catch (err) {
      if (isTerminalApiError(err)) {
        const message = asError(err).message;
        await this.recordFailure(cluster, 'ApplyRejected', message, report);
        report.outcome = { kind: 'terminal', error: asError(err) };
        return report;
      }
      log.warn({ err, status: apiStatus(err) }, 'reconcile failed; will retry');
      await this.opts.events.record(eventTarget(cluster), 'Warning', 'ReconcileFailed', asError(err).message);
      report.outcome = { kind: 'transient', error: asError(err) };
      return report;
    }
  }

  /**
   * Publish N-membership alone, for a logic pod event, without waiting for a reconcile of the
   * cluster that may be busy (a Redis step). Never throws; true when it wrote the ConfigMap.
   */
  async publishMembership(namespace: string, name: string): Promise<boolean> {
    try {
      const resolved = resolveImGroupCluster(await this.getCluster(namespace, name));
      if (!resolved.ok || resolved.cluster.spec.paused) return false;
      const report: ReconcileReport = { outcome: { kind: 'done' }, applied: [], statusWritten: false };
      await this.applyMembership(resolved.cluster, report);
      return report.applied.length > 0;
    } catch (err) {
      if (!isNotFound(err)) this.opts.log.debug({ err, cluster: `${namespace}/${name}` }, 'membership publish failed; the reconcile will');
      return false;
    }
  }

  /**
   * Compute N-membership from the logic pods and apply it if it changed, one at a time per
   * cluster: the reconcile and the pod-event path both publish, and whichever runs later computes
   * from the newer pod cache, so an older member list never overwrites a newer one.
   */
  private async applyMembership(cluster: ValidImGroupCluster, report: ReconcileReport): Promise<void> {
    const { namespace, name } = cluster.metadata;
    const key = `${namespace}/${name}`;
    const previous = this.membershipChain.get(key) ?? Promise.resolve();
    const run = previous.then(async () => {
      const pods = await this.listLogicPods(namespace, name);
      const doc = membershipDocument(cluster, pods);
      const before = report.applied.length;
      await this.applyIfChanged(desiredMembershipConfigMap(cluster, doc), report);
      if (report.applied.length > before) this.opts.onMembershipPublished?.(namespace, name, doc);
    });
    const settled = run.catch(() => undefined);
    this.membershipChain.set(key, settled);
    try {
      await run;
    } finally {
      if (this.membershipChain.get(key) === settled) this.membershipChain.delete(key);
    }
  }

  /**
   * One step of the Redis lifecycle, when a driver is configured and the pods and password are
   * there. The StatefulSet's replica count comes from the step (a scale-in waits for the leaving
   * pods to be drained); without a step it never shrinks: the live count, or the target on create.
   */
  private async redisStep(cluster: ValidImGroupCluster, log: Logger): Promise<RedisOutcome> {
    const { namespace, name } = cluster.metadata;
    const names = objectNames(name);
    const target = redisTargetReplicas(cluster.spec);
    const liveSts = await this.readLive<V1StatefulSet>('apps/v1', 'StatefulSet', namespace, names.redis);
    const liveReplicas = liveSts?.spec?.replicas;
    const keep = typeof liveReplicas === 'number' ? Math.max(liveReplicas, target) : target;
    if (!this.opts.redis) return { result: null, pending: null, replicas: target, readyPods: 0 };
    const pods = redisPodViews(await this.listRedisPods(namespace, name), names.redis);
    const readyPods = pods.filter((p) => p.ready).length;
    if (liveSts === null || pods.length === 0) return { result: null, pending: 'waiting for Redis pods', replicas: keep, readyPods };
    const password = await this.redisPassword(cluster);
    if (password === null) return { result: null, pending: 'waiting for the auth Secret (Redis password)', replicas: keep, readyPods };
    try {
      const result = await this.opts.redis.step(`${namespace}/${name}`, password, {
        pods,
        masters: cluster.spec.redis.masters,
        replicasPerMaster: cluster.spec.redis.replicasPerMaster,
        port: REDIS_PORT,
        statefulSetReplicas: typeof liveReplicas === 'number' ? liveReplicas : target,
      });
      this.opts.onRedisStep?.(namespace, name, result);
      return { result, pending: null, replicas: result.statefulSetReplicas, readyPods };
    } catch (err) {
      log.warn({ err }, 'redis lifecycle step failed');
      return { result: null, pending: `redis lifecycle step failed: ${asError(err).message}`, replicas: typeof liveReplicas === 'number' ? liveReplicas : target, readyPods };
    }
  }

  private async redisPassword(cluster: ValidImGroupCluster): Promise<string | null> {
    try {
      const secret = await this.opts.core.readNamespacedSecret({ namespace: cluster.metadata.namespace, name: authSecretName(cluster) });
      const b64 = secret.data?.[AUTH_SECRET_KEYS.redisPassword];
      return b64 ? Buffer.from(b64, 'base64').toString('utf8') : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async recordRedisActions(cluster: ValidImGroupCluster, actions: readonly LifecycleAction[]): Promise<void> {
    for (const a of actions) {
      await this.opts.events.record(eventTarget(cluster), a.ok ? 'Normal' : 'Warning', redisEventReason(a), a.message);
    }
  }

  private withRedisStatus(cluster: ValidImGroupCluster, status: ImGroupClusterStatus, redis: RedisOutcome): ImGroupClusterStatus {
    if (!this.opts.redis) return status;
    const now = this.now();
    const generation = cluster.metadata.generation;
    if (!redis.result) {
      const pendingStatus = redisPendingStatus(cluster.status?.redis, redis.readyPods, redis.pending ?? 'waiting');
      const degraded = redis.pending?.startsWith('redis lifecycle step failed') ?? false;
      const conditions = degraded
        ? setConditions(status.conditions ?? [], [{ type: 'Degraded', status: 'True', reason: 'RedisUnreachable', message: redis.pending ?? '' }, { type: 'Ready', status: 'False', reason: 'RedisUnreachable', message: redis.pending ?? '' }], generation, now)
        : setConditions(status.conditions ?? [], [{ type: 'Ready', status: 'False', reason: 'RedisPending', message: redis.pending ?? '' }], generation, now);
      return { ...status, redis: pendingStatus, conditions };
    }
    const r = redis.result;
    const inputs = redisConditions(r);
    if (r.conditions.degraded) inputs.push({ type: 'Degraded', status: 'True', reason: r.conditions.reason || 'RedisDegraded', message: r.conditions.message || `Redis Cluster is ${r.state}` });
    if (r.state !== 'Healthy') {
      inputs.push({ type: 'Ready', status: 'False', reason: `Redis${r.state}`, message: r.conditions.message || `Redis Cluster is ${r.state}` });
      if (r.state === 'Bootstrapping' || r.state === 'Migrating') inputs.push({ type: 'Progressing', status: 'True', reason: `Redis${r.state}`, message: r.conditions.message || `Redis Cluster is ${r.state}` });
    }
    return { ...status, redis: redisStatusFromStep(r, redis.readyPods), conditions: setConditions(status.conditions ?? [], inputs, generation, now) };
  }

  private outcomeOf(status: ImGroupClusterStatus, redis: RedisOutcome): ReconcileOutcome {
    const waits: Array<{ afterMs: number; reason: string }> = [];
    if (status.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') waits.push({ afterMs: this.opts.waitRequeueMs ?? 30_000, reason: 'replicas not ready' });
    if (redis.result?.requeueAfterMs !== null && redis.result?.requeueAfterMs !== undefined) waits.push({ afterMs: redis.result.requeueAfterMs, reason: `redis ${redis.result.state}` });
    if (redis.result?.conditions.degraded || redis.pending) waits.push({ afterMs: this.opts.redisDegradedRequeueMs ?? 30_000, reason: redis.pending ?? 'redis degraded' });
    if (waits.length === 0) return { kind: 'done' };
    const soonest = waits.reduce((a, b) => (b.afterMs < a.afterMs ? b : a));
    return { kind: 'requeueAfter', afterMs: soonest.afterMs, reason: soonest.reason };
  }

  /** A cached object (informer), else one read from the API; null when absent. */
  private async readLive<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string, name: string): Promise<T | null> {
    const cached = this.opts.readCached?.(apiVersion, kind, namespace, name);
    if (cached !== undefined) return cached as T | null;
    try {
      return (await this.opts.objects.read({ apiVersion, kind, metadata: { name, namespace } })) as T;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async listRedisPods(namespace: string, name: string): Promise<V1Pod[]> {
    if (this.opts.listRedisPods) return this.opts.listRedisPods(namespace, name);
    return (await this.opts.core.listNamespacedPod({ namespace, labelSelector: redisPodSelector(name) })).items;
  }

  private async getCluster(namespace: string, name: string, fresh = false): Promise<ImGroupCluster> {
    const cached = fresh ? undefined : this.opts.readCached?.(`${GROUP}/${VERSION}`, 'ImGroupCluster', namespace, name);
    if (cached) return cached as ImGroupCluster;
    return (await this.opts.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as ImGroupCluster;
  }

  private async listLogicPods(namespace: string, name: string): Promise<V1Pod[]> {
    if (this.opts.listLogicPods) return this.opts.listLogicPods(namespace, name);
    const list = await this.opts.core.listNamespacedPod({ namespace, labelSelector: logicPodSelector(name) });
    return list.items;
  }

  /** The live object after this step (the apply response, or the unchanged live object). */
  private async applyIfChanged(obj: DesiredObject, report: ReconcileReport): Promise<KubernetesObject> {
    const { object, hash } = withAppliedHash(obj as KubernetesObject);
    const cached = this.opts.readCached?.(object.apiVersion ?? '', object.kind ?? '', object.metadata?.namespace ?? '', object.metadata?.name ?? '');
    if (cached && appliedHashOf(cached) === hash) return cached;
    let live: KubernetesObject | undefined;
    if (cached === undefined) {
      try {
        live = await this.opts.objects.read(object as KubernetesObject & { metadata: { name: string; namespace: string } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    if (live && appliedHashOf(live) === hash) return live;
    const applied = await this.opts.objects.patch(object, undefined, undefined, MANAGER, true, PatchStrategy.ServerSideApply);
    report.applied.push(`${obj.kind}/${obj.metadata?.name}`);
    return applied;
  }

  private async ensureAuthSecret(cluster: ValidImGroupCluster, report: ReconcileReport): Promise<void> {
    if (!usesGeneratedAuthSecret(cluster)) return;
    const secret = desiredAuthSecret(cluster, newAuthSecretValues(this.opts.randomBytes ?? cryptoRandomBytes));
    const name = secret.metadata?.name ?? '';
    try {
      await this.opts.core.readNamespacedSecret({ namespace: cluster.metadata.namespace, name });
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await this.opts.core.createNamespacedSecret({ namespace: cluster.metadata.namespace, body: secret, fieldManager: MANAGER });
      report.applied.push(`Secret/${name}`);
    } catch (err) {
      if (!isConflict(err)) throw err; // created meanwhile: never overwrite it
    }
  }

  /** Replace the status when it differs; 409 → re-read and retry (bounded). */
  private async writeStatus(cluster: ImGroupCluster, status: ImGroupClusterStatus, report: ReconcileReport): Promise<void> {
    const max = this.opts.maxConflictRetries ?? 5;
    let current = cluster;
    let next = status;
    for (let attempt = 0; ; attempt++) {
      if (hashObject(current.status ?? {}) === hashObject(next)) return;
      const { namespace = '', name = '' } = current.metadata;
      try {
        await this.opts.custom.replaceNamespacedCustomObjectStatus({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
          body: { ...current, status: next },
          fieldManager: MANAGER,
        });
        report.statusWritten = true;
        return;
      } catch (err) {
        if (!isConflict(err) || attempt + 1 >= max) throw err;
        const fresh = await this.getCluster(namespace, name, true);
        // Keep the conditions' transition times of the fresh object where statuses agree.
        next = { ...next, conditions: mergeConditionTimes(fresh.status?.conditions ?? [], next.conditions ?? []) };
        current = fresh;
      }
    }
  }

  private async recordFailure(cluster: ImGroupCluster, reason: string, message: string, report: ReconcileReport): Promise<void> {
    const log = this.opts.log.child({ cluster: `${cluster.metadata.namespace}/${cluster.metadata.name}` });
    log.error({ reason }, message);
    await this.opts.events.record(eventTarget(cluster), 'Warning', reason, message);
    try {
      await this.writeStatus(cluster, failedStatus(cluster, reason, message, this.now()), report);
    } catch (err) {
      log.warn({ err }, 'status not written');
    }
  }
}

function mergeConditionTimes(fresh: NonNullable<ImGroupClusterStatus['conditions']>, next: NonNullable<ImGroupClusterStatus['conditions']>) {
  return next.map((c) => {
    const f = fresh.find((x) => x.type === c.type);
    return f && f.status === c.status ? { ...c, lastTransitionTime: f.lastTransitionTime } : c;
  });
}

function isMembership(obj: DesiredObject, name: string): boolean {
  return obj.kind === 'ConfigMap' && obj.metadata?.name === name;
}

/** Event reason of a Redis lifecycle action: `Redis` + the kind in CamelCase (+ `Failed`). */
function redisEventReason(a: LifecycleAction): string {
  const kind = a.kind.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return `Redis${kind}${a.ok ? '' : 'Failed'}`;
}

function eventTarget(cluster: ImGroupCluster) {
  return { name: cluster.metadata.name ?? '', namespace: cluster.metadata.namespace ?? '', ...(cluster.metadata.uid ? { uid: cluster.metadata.uid } : {}) };
}
