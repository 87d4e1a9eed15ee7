/**
 * Level-triggered reconcile of one cluster's membership: the ConfigMap N-membership from the
 * cluster's logic pods (desired/membership-configmap.ts), applied only when it changed. Small and
 * fast, so that gates learn of a logic pod change within a second whatever else the operator is
 * busy with; the only writer of N-membership. A missing, invalid or paused cluster is done
 * (the cluster reconciler reports an invalid spec).
 */
import type { MembershipDocument } from '../../runtime/protocol/membership.js';
import { resolveImGroupCluster } from '../api/validation.js';
import { desiredMembershipConfigMap, membershipDocument } from '../desired/membership-configmap.js';
import { asError, isNotFound, isTerminalApiError } from './api-errors.js';
import { ClusterObjects, type ClusterObjectsOptions } from './cluster-objects.js';
import type { ReconcileOutcome } from './outcome.js';

export interface MembershipReport {
  outcome: ReconcileOutcome;
  /** `ConfigMap/N-membership` when this reconcile wrote it; else empty. */
  applied: string[];
  /** The document written, or null when nothing was written. */
  published: MembershipDocument | null;
}

export class MembershipReconciler {
  private readonly kube: ClusterObjects;

  constructor(opts: ClusterObjectsOptions) {
    this.kube = new ClusterObjects(opts);
  }

  /** Reconcile the membership of `namespace/name` once. Never throws: every failure is an outcome. */
  async reconcile(namespace: string, name: string): Promise<MembershipReport> {
    const report: MembershipReport = { outcome: { kind: 'done' }, applied: [], published: null };
    try {
      const resolved = resolveImGroupCluster(await this.kube.getCluster(namespace, name));
      if (!resolved.ok || resolved.cluster.spec.paused) return report;
      const doc = membershipDocument(resolved.cluster, await this.kube.listPods(namespace, name, 'logic'));
      await this.kube.applyIfChanged(desiredMembershipConfigMap(resolved.cluster, doc), report.applied);
      if (report.applied.length > 0) report.published = doc;
    } catch (err) {
      if (isNotFound(err)) return report;
      report.outcome = isTerminalApiError(err) ? { kind: 'terminal', error: asError(err) } : { kind: 'transient', error: asError(err) };
    }
    return report;
  }
}
