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
import { APP_NAME, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME, MANAGER } from '../desired/object-meta.js';
import { apiStatus, asError, isConflict, isNotFound, isTerminalApiError } from './api-errors.js';
import { appliedHashOf, hashObject, withAppliedHash } from './applied-hash.js';
import { convergedStatus, failedStatus, pausedStatus } from './cluster-status.js';
import type { EventRecorder } from './event-recorder.js';
import type { ReconcileOutcome } from './outcome.js';

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
  /** Wait before looking again while replicas are not ready. Default 30000 ms. */
  waitRequeueMs?: number;
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


export class Reconciler {
  private readonly opts: ReconcilerOptions;
  private readonly now: () => Date;

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
      if (isNotFound(err)) return report;
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
      const pods = await this.listLogicPods(namespace, name);
      const desired = desiredState(cluster, { logicPods: pods });
      let gate: V1StatefulSet | undefined;
      let logic: V1StatefulSet | undefined;
      // The membership ConfigMap first: gates wait for it, the rest can follow.
      const ordered = [...desired.objects].sort((a, b) => Number(isMembership(b, names.membership)) - Number(isMembership(a, names.membership)));
      for (const obj of ordered) {
        const live = await this.applyIfChanged(obj, report);
        if (obj.kind === 'StatefulSet' && obj.metadata?.name === names.gate) gate = live as V1StatefulSet;
        if (obj.kind === 'StatefulSet' && obj.metadata?.name === names.logic) logic = live as V1StatefulSet;
        if (obj.kind === 'ConfigMap' && report.applied.includes(`ConfigMap/${names.membership}`) && obj.metadata?.name === names.membership) {
          this.opts.onMembershipPublished?.(namespace, name, desired.membership);
        }
      }
      await this.ensureAuthSecret(cluster, report);
      if (report.applied.length > 0) {
        await this.opts.events.record(eventTarget(cluster), 'Normal', 'Applied', `applied ${report.applied.join(', ')}`);
      }
      const status = convergedStatus(cluster, { gate, logic, membership: desired.membership }, this.now());
      await this.writeStatus(cluster, status, report);
      const ready = status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      report.outcome = ready ? { kind: 'done' } : { kind: 'requeueAfter', afterMs: this.opts.waitRequeueMs ?? 30_000, reason: 'replicas not ready' };
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

function eventTarget(cluster: ImGroupCluster) {
  return { name: cluster.metadata.name ?? '', namespace: cluster.metadata.namespace ?? '', ...(cluster.metadata.uid ? { uid: cluster.metadata.uid } : {}) };
}
