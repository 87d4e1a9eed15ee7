/**
 * Level-triggered reconcile of one ImGroupCluster's objects and status: read it, its auth Secret
 * (creating `N-auth` only when absent) and its objects, compute the desired state
 * (operator/desired; the Secret's fingerprints roll the gates, secret-rollout.ts), apply only the
 * objects whose applied hash differs (cluster-objects.ts), delete the NetworkPolicies it must not
 * have, then write the status only when it differs. NotFound means done (ownerReferences let the
 * garbage collector delete the children).
 * N-membership is the membership reconciler's (membership-reconciler.ts); the Redis Cluster's
 * state and N-redis's replica count come from the Redis reconciler's latest observation
 * (redis-observations.ts), so a reconcile never waits for Redis.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import type { V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from '../../runtime/ops/logger.js';
import { type ImGroupCluster, type ImGroupClusterStatus, GROUP, PLURAL, VERSION } from '../api/v1alpha1.js';
import { formatFieldErrors, resolveImGroupCluster, type ValidImGroupCluster } from '../api/validation.js';
import { authSecretName, type AuthSecretValues, desiredAuthSecret, newAuthSecretValues, usesGeneratedAuthSecret } from '../desired/auth-secret.js';
import { objectNames } from '../desired/cluster-context.js';
import { type DesiredObject, desiredState } from '../desired/desired-objects.js';
import type { NetworkPolicyInputs } from '../desired/network-policies.js';
import { MANAGER } from '../desired/object-meta.js';
import { redisTargetReplicas } from '../desired/redis-statefulset.js';
import type { RuntimeDefaults } from '../desired/runtime-pod.js';
import { authSecretValues, GATE_SECRETS_ANNOTATION, SHARED_SECRETS_ANNOTATION, type SecretRollout, secretRollout } from '../desired/secret-rollout.js';
import { apiStatus, asError, isConflict, isNotFound, isTerminalApiError } from './api-errors.js';
import { hashObject } from './applied-hash.js';
import { ClusterObjects, type ClusterObjectsOptions } from './cluster-objects.js';
import { convergedStatus, failedStatus, pausedStatus, secretsCondition } from './cluster-status.js';
import { setConditions } from './conditions.js';
import { type EventRecorder, eventTarget } from './event-recorder.js';
import type { ReconcileOutcome } from './outcome.js';
import type { RedisObservations } from './redis-observations.js';
import { redisStatusOfObservation } from './redis-status.js';

export interface ClusterReconcilerOptions extends ClusterObjectsOptions {
  events: EventRecorder;
  log: Logger;
  /** The operator's defaults of gate and logic pods (its default runtime image). */
  runtime?: RuntimeDefaults;
  /** The NetworkPolicy feature; absent: NetworkPolicies are neither made nor deleted. */
  networkPolicies?: NetworkPolicyInputs;
  /** Wait before looking again while replicas are not ready. Default 30000 ms. */
  waitRequeueMs?: number;
  /**
   * The Redis lifecycle's observations (the Redis reconciler's). Absent: the operator only
   * applies the Redis StatefulSet and reports nothing about the cluster inside it.
   */
  redis?: RedisObservations;
  /** The cluster is gone (metrics of it can go). */
  onClusterGone?: (namespace: string, clusterName: string) => void;
  /** Every status a reconcile computed, written or not (metrics of its conditions). */
  onStatus?: (namespace: string, clusterName: string, status: ImGroupClusterStatus) => void;
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

export class ClusterReconciler {
  private readonly opts: ClusterReconcilerOptions;
  private readonly kube: ClusterObjects;
  private readonly now: () => Date;

  constructor(opts: ClusterReconcilerOptions) {
    this.opts = opts;
    this.kube = new ClusterObjects(opts);
    this.now = opts.now ?? (() => new Date());
  }

  /** Reconcile `namespace/name` once. Never throws: every failure is an outcome. */
  async reconcile(namespace: string, name: string): Promise<ReconcileReport> {
    const report: ReconcileReport = { outcome: { kind: 'done' }, applied: [], statusWritten: false };
    let raw: ImGroupCluster;
    try {
      raw = await this.kube.getCluster(namespace, name);
    } catch (err) {
      if (isNotFound(err)) {
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
      const pods = await this.kube.listPods(namespace, name, 'logic');
      const secrets = await this.secretRollout(cluster, await this.authSecret(cluster, report));
      const desired = desiredState(cluster, {
        logicPods: pods,
        redisReplicas: await this.redisReplicas(cluster),
        secrets,
        ...(this.opts.runtime ? { runtime: this.opts.runtime } : {}),
        ...(this.opts.networkPolicies ? { networkPolicies: this.opts.networkPolicies } : {}),
      });
      let gate: V1StatefulSet | undefined;
      let logic: V1StatefulSet | undefined;
      for (const obj of desired.objects) {
        if (isMembership(obj, names.membership)) continue; // the membership reconciler's
        const live = await this.kube.applyIfChanged(obj, report.applied);
        if (obj.kind === 'StatefulSet' && obj.metadata?.name === names.gate) gate = live as V1StatefulSet;
        if (obj.kind === 'StatefulSet' && obj.metadata?.name === names.logic) logic = live as V1StatefulSet;
      }
      for (const absent of desired.absent) await this.kube.deleteIfOwned(namespace, absent, cluster.metadata.uid, report.applied);
      if (report.applied.length > 0) {
        await this.opts.events.record(eventTarget(cluster), 'Normal', 'Applied', `applied ${report.applied.join(', ')}`);
      }
      const converged = convergedStatus(cluster, { gate, logic, membership: desired.membership }, this.now());
      const withSecrets = { ...converged, conditions: setConditions(converged.conditions ?? [], [secretsCondition(secrets.state, authSecretName(cluster), names.logic)], cluster.metadata.generation, this.now()) };
      const status = this.withRedisStatus(cluster, withSecrets);
      await this.writeStatus(cluster, status, report);
      report.outcome = this.outcomeOf(status);
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
   * Replicas of N-redis to apply: what the Redis reconciler last decided; before it has, or
   * without a Redis lifecycle, never fewer than live (the target on create).
   */
  private async redisReplicas(cluster: ValidImGroupCluster): Promise<number> {
    const { namespace, name } = cluster.metadata;
    const target = redisTargetReplicas(cluster.spec);
    if (!this.opts.redis) return target;
    const observed = this.opts.redis.get(`${namespace}/${name}`);
    if (observed) return observed.replicas;
    const live = await this.kube.readLive<V1StatefulSet>('apps/v1', 'StatefulSet', namespace, objectNames(name).redis);
    const liveReplicas = live?.spec?.replicas;
    return typeof liveReplicas === 'number' ? Math.max(liveReplicas, target) : target;
  }

  private withRedisStatus(cluster: ValidImGroupCluster, status: ImGroupClusterStatus): ImGroupClusterStatus {
    if (!this.opts.redis) return status;
    const { namespace, name } = cluster.metadata;
    const { redis, conditions } = redisStatusOfObservation(cluster.status?.redis, this.opts.redis.get(`${namespace}/${name}`));
    return { ...status, redis, conditions: setConditions(status.conditions ?? [], conditions, cluster.metadata.generation, this.now()) };
  }

  private outcomeOf(status: ImGroupClusterStatus): ReconcileOutcome {
    if (status.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') return { kind: 'requeueAfter', afterMs: this.opts.waitRequeueMs ?? 30_000, reason: 'replicas not ready' };
    return { kind: 'done' };
  }

  /**
   * The cluster's auth Secret as read from the API (null when absent); `N-auth` is created first
   * when the cluster uses it and it does not exist (never overwritten).
   */
  private async authSecret(cluster: ValidImGroupCluster, report: ReconcileReport): Promise<V1Secret | null> {
    const namespace = cluster.metadata.namespace;
    const name = authSecretName(cluster);
    try {
      return await this.kube.core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!usesGeneratedAuthSecret(cluster)) return null;
    const secret = desiredAuthSecret(cluster, newAuthSecretValues(this.opts.randomBytes ?? cryptoRandomBytes));
    try {
      const created = await this.kube.core.createNamespacedSecret({ namespace, body: secret, fieldManager: MANAGER });
      report.applied.push(`Secret/${name}`);
      return created;
    } catch (err) {
      if (!isConflict(err)) throw err; // created meanwhile (AlreadyExists): never overwrite it
      return await this.kube.core.readNamespacedSecret({ namespace, name });
    }
  }

  /** The Secret's fingerprints against what the live gate and logic StatefulSets record. */
  private async secretRollout(cluster: ValidImGroupCluster, secret: V1Secret | null): Promise<SecretRollout> {
    const { namespace, name } = cluster.metadata;
    const names = objectNames(name);
    const [gate, logic] = await Promise.all([
      this.kube.readLive<V1StatefulSet>('apps/v1', 'StatefulSet', namespace, names.gate),
      this.kube.readLive<V1StatefulSet>('apps/v1', 'StatefulSet', namespace, names.logic),
    ]);
    let current: AuthSecretValues | { unreadable: string };
    if (secret === null) current = { unreadable: `Secret ${authSecretName(cluster)} does not exist` };
    else {
      const read = authSecretValues(secret);
      current = read.ok ? read.values : { unreadable: `Secret ${authSecretName(cluster)} lacks ${read.missing.join(', ')}` };
    }
    return secretRollout(current, {
      gateTemplate: gate?.spec?.template?.metadata?.annotations?.[GATE_SECRETS_ANNOTATION],
      shared: logic?.metadata?.annotations?.[SHARED_SECRETS_ANNOTATION],
    });
  }

  /** Replace the status when it differs; 409 → re-read and retry (bounded). */
  private async writeStatus(cluster: ImGroupCluster, status: ImGroupClusterStatus, report: ReconcileReport): Promise<void> {
    this.opts.onStatus?.(cluster.metadata.namespace ?? '', cluster.metadata.name ?? '', status);
    const max = this.opts.maxConflictRetries ?? 5;
    let current = cluster;
    let next = status;
    for (let attempt = 0; ; attempt++) {
      if (hashObject(current.status ?? {}) === hashObject(next)) return;
      const { namespace = '', name = '' } = current.metadata;
      try {
        await this.kube.custom.replaceNamespacedCustomObjectStatus({
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
        const fresh = await this.kube.getCluster(namespace, name, true);
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
