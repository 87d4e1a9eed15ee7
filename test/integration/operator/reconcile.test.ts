/**
 * The cluster and membership reconcilers against the real API server (`reconcile` runs both, as
 * the operator's controllers do for one change): create → every owned object with ownerReferences
 * and labels; a second reconcile writes nothing (every resourceVersion unchanged); scale; pause;
 * N-auth created once and never rotated; membership from logic Pods; invalid specs rejected by
 * the API server naming the field; delete → children garbage-collected (the control plane runs
 * the controller manager's garbage collector).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, type ImGroupCluster, PLURAL, VERSION } from '../../../operator/api/v1alpha1.js';
import { LABEL_COMPONENT, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME } from '../../../operator/desired/object-meta.js';
import { createEventRecorder } from '../../../operator/reconcile/event-recorder.js';
import { ClusterReconciler, type ReconcileReport } from '../../../operator/reconcile/cluster-reconciler.js';
import { MembershipReconciler } from '../../../operator/reconcile/membership-reconciler.js';
import { parseMembership } from '../../../runtime/protocol/membership.js';
import { createLogicPod, createNamespace, eventually, installCrd, type KubeClients, kubeClients, quietLogger, setPodReady } from '../../support/operator-fixture.js';

const MINIMAL = { gate: { replicas: 2 }, logic: { replicas: 3 }, redis: { masters: 3, replicasPerMaster: 1 } };

describe('reconcile on a real API server', () => {
  let k: KubeClients;
  let cluster: ClusterReconciler;
  let membership: MembershipReconciler;
  /** The membership reconcile, then the cluster's; their writes together, the cluster's outcome. */
  const reconciler = {
    async reconcile(ns: string, name: string): Promise<ReconcileReport> {
      const m = await membership.reconcile(ns, name);
      expect(m.outcome.kind, JSON.stringify(m.outcome)).toBe('done');
      const c = await cluster.reconcile(ns, name);
      return { ...c, applied: [...m.applied, ...c.applied] };
    },
  };

  beforeAll(async () => {
    k = kubeClients(inject('kubeconfig'));
    await installCrd(k);
    const log = quietLogger();
    cluster = new ClusterReconciler({ objects: k.objects, core: k.core, custom: k.custom, log, events: createEventRecorder({ core: k.core, log }) });
    membership = new MembershipReconciler({ objects: k.objects, core: k.core, custom: k.custom });
  }, 60_000);

  async function createCluster(ns: string, name: string, spec: unknown = MINIMAL): Promise<ImGroupCluster> {
    return (await k.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name }, spec },
    })) as ImGroupCluster;
  }
  async function getCluster(ns: string, name: string): Promise<ImGroupCluster> {
    return (await k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name })) as ImGroupCluster;
  }
  async function patchSpec(ns: string, name: string, spec: unknown): Promise<void> {
    const current = await getCluster(ns, name);
    await k.custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name, body: { ...current, spec: { ...(current.spec ?? {}), ...(spec as object) } } });
  }
  /** resourceVersion of every object in the namespace the operator may write, by kind/name. */
  async function versions(ns: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const add = (kind: string, items: { metadata?: { name?: string; resourceVersion?: string } }[]) => {
      for (const i of items) out[`${kind}/${i.metadata?.name}`] = i.metadata?.resourceVersion ?? '';
    };
    add('StatefulSet', (await k.apps.listNamespacedStatefulSet({ namespace: ns })).items);
    add('Service', (await k.core.listNamespacedService({ namespace: ns })).items);
    add('ConfigMap', (await k.core.listNamespacedConfigMap({ namespace: ns })).items);
    add('Secret', (await k.core.listNamespacedSecret({ namespace: ns })).items);
    add('ServiceAccount', (await k.core.listNamespacedServiceAccount({ namespace: ns })).items);
    const cluster = await k.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL });
    add('ImGroupCluster', (cluster as { items: ImGroupCluster[] }).items);
    return out;
  }

  it('creates every owned object with owner references and labels, then a second reconcile writes nothing', async () => {
    const ns = await createNamespace(k);
    const created = await createCluster(ns, 'chat');
    const first = await reconciler.reconcile(ns, 'chat');
    expect(first.outcome.kind, JSON.stringify(first.outcome)).toBe('requeueAfter');
    expect(first.applied).toEqual(
      expect.arrayContaining(['Secret/chat-auth', 'StatefulSet/chat-gate', 'StatefulSet/chat-logic', 'StatefulSet/chat-redis', 'Service/chat-gate', 'Service/chat-logic', 'Service/chat-redis', 'ConfigMap/chat-membership', 'ServiceAccount/chat-gate', 'Role/chat-gate', 'RoleBinding/chat-gate', 'PodDisruptionBudget/chat-gate', 'PodDisruptionBudget/chat-logic', 'PodDisruptionBudget/chat-redis']),
    );
    const owned = [
      await k.apps.readNamespacedStatefulSet({ namespace: ns, name: 'chat-gate' }),
      await k.apps.readNamespacedStatefulSet({ namespace: ns, name: 'chat-logic' }),
      await k.apps.readNamespacedStatefulSet({ namespace: ns, name: 'chat-redis' }),
      await k.core.readNamespacedService({ namespace: ns, name: 'chat-gate' }),
      await k.core.readNamespacedService({ namespace: ns, name: 'chat-logic' }),
      await k.core.readNamespacedService({ namespace: ns, name: 'chat-redis' }),
      await k.core.readNamespacedConfigMap({ namespace: ns, name: 'chat-membership' }),
      await k.core.readNamespacedServiceAccount({ namespace: ns, name: 'chat-gate' }),
      await k.core.readNamespacedSecret({ namespace: ns, name: 'chat-auth' }),
    ];
    for (const o of owned) {
      expect(o.metadata?.ownerReferences?.[0], o.metadata?.name).toMatchObject({ kind: 'ImGroupCluster', name: 'chat', uid: created.metadata.uid, controller: true });
      expect(o.metadata?.labels?.[LABEL_NAME]).toBe('imgroup');
      expect(o.metadata?.labels?.[LABEL_INSTANCE]).toBe('chat');
      expect(o.metadata?.labels?.[LABEL_MANAGED_BY]).toBe('imgroup-operator');
    }
    expect(owned[0]?.metadata?.labels?.[LABEL_COMPONENT]).toBe('gate');
    expect(owned[0]?.metadata?.managedFields?.some((f) => f.manager === 'imgroup-operator' && f.operation === 'Apply')).toBe(true);
    const status = (await getCluster(ns, 'chat')).status;
    expect(status?.observedGeneration).toBe(created.metadata.generation);
    expect(status?.logic).toEqual({ replicas: 3, ready: 0 });
    expect(status?.membership?.members).toBe(0);
    expect(status?.conditions?.map((c) => `${c.type}=${c.status}`).sort()).toEqual(['Degraded=False', 'MembershipPublished=True', 'Progressing=True', 'Ready=False', 'SecretsApplied=True']);

    const before = await versions(ns);
    const second = await reconciler.reconcile(ns, 'chat');
    expect(second.applied).toEqual([]);
    expect(second.statusWritten).toBe(false);
    expect(await versions(ns)).toEqual(before);
    expect(Object.keys(before).length).toBeGreaterThan(8);
  });

  it('scales the StatefulSets, keeps N-auth, and changes nothing while paused', async () => {
    const ns = await createNamespace(k);
    await createCluster(ns, 'chat');
    await reconciler.reconcile(ns, 'chat');
    const secretBefore = await k.core.readNamespacedSecret({ namespace: ns, name: 'chat-auth' });

    await patchSpec(ns, 'chat', { logic: { replicas: 5 }, gate: { replicas: 4 } });
    const scaled = await reconciler.reconcile(ns, 'chat');
    expect(scaled.applied).toEqual(expect.arrayContaining(['StatefulSet/chat-logic', 'StatefulSet/chat-gate']));
    expect((await k.apps.readNamespacedStatefulSet({ namespace: ns, name: 'chat-logic' })).spec?.replicas).toBe(5);
    expect((await k.apps.readNamespacedStatefulSet({ namespace: ns, name: 'chat-gate' })).spec?.replicas).toBe(4);
    const secretAfter = await k.core.readNamespacedSecret({ namespace: ns, name: 'chat-auth' });
    expect(secretAfter.data).toEqual(secretBefore.data);
    expect(secretAfter.metadata?.resourceVersion).toBe(secretBefore.metadata?.resourceVersion);

    await patchSpec(ns, 'chat', { paused: true, logic: { replicas: 2 } });
    const paused = await reconciler.reconcile(ns, 'chat');
    expect(paused.applied).toEqual([]);
    expect((await k.apps.readNamespacedStatefulSet({ namespace: ns, name: 'chat-logic' })).spec?.replicas).toBe(5);
    const progressing = (await getCluster(ns, 'chat')).status?.conditions?.find((c) => c.type === 'Progressing');
    expect(progressing).toMatchObject({ status: 'False', reason: 'Paused' });

    await patchSpec(ns, 'chat', { paused: false });
    await reconciler.reconcile(ns, 'chat');
    expect((await k.apps.readNamespacedStatefulSet({ namespace: ns, name: 'chat-logic' })).spec?.replicas).toBe(2);
  });

  it('publishes the Ready, non-terminating logic pods, sorted, with a version that changes with the list', async () => {
    const ns = await createNamespace(k);
    await createCluster(ns, 'chat');
    await reconciler.reconcile(ns, 'chat');
    for (const i of [0, 1, 2]) await createLogicPod(k, ns, 'chat', i);
    await setPodReady(k, ns, 'chat-logic-2', '10.0.0.12', true);
    await setPodReady(k, ns, 'chat-logic-0', '10.0.0.10', true);
    await setPodReady(k, ns, 'chat-logic-1', '10.0.0.11', false);
    const readDoc = async () => {
      const cm = await k.core.readNamespacedConfigMap({ namespace: ns, name: 'chat-membership' });
      const parsed = parseMembership(cm.data?.['membership.json'] ?? '');
      if (!parsed.ok) throw new Error(parsed.error);
      return { doc: parsed.doc, rv: cm.metadata?.resourceVersion };
    };
    const r1 = await reconciler.reconcile(ns, 'chat');
    expect(r1.applied).toContain('ConfigMap/chat-membership');
    const a = await readDoc();
    expect(a.doc.members.map((m) => m.id)).toEqual(['chat-logic-0', 'chat-logic-2']);
    expect(a.doc.members[0]?.url).toMatch(/^ws:\/\/10\.0\.0\.10:\d+$/);
    expect((await getCluster(ns, 'chat')).status?.membership).toEqual({ version: a.doc.version, members: 2 });

    await reconciler.reconcile(ns, 'chat');
    expect((await readDoc()).rv).toBe(a.rv);

    await setPodReady(k, ns, 'chat-logic-1', '10.0.0.11', true);
    await reconciler.reconcile(ns, 'chat');
    const b = await readDoc();
    expect(b.doc.members.map((m) => m.id)).toEqual(['chat-logic-0', 'chat-logic-1', 'chat-logic-2']);
    expect(b.doc.version).not.toBe(a.doc.version);

    // Terminating (deletionTimestamp set, held by a finalizer) leaves the list.
    const pod = await k.core.readNamespacedPod({ namespace: ns, name: 'chat-logic-2' });
    await k.core.replaceNamespacedPod({ namespace: ns, name: 'chat-logic-2', body: { ...pod, metadata: { ...pod.metadata, finalizers: ['imgroup.dev/test-hold'] } } });
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'chat-logic-2' });
    await reconciler.reconcile(ns, 'chat');
    expect((await readDoc()).doc.members.map((m) => m.id)).toEqual(['chat-logic-0', 'chat-logic-1']);
    const held = await k.core.readNamespacedPod({ namespace: ns, name: 'chat-logic-2' });
    await k.core.replaceNamespacedPod({ namespace: ns, name: 'chat-logic-2', body: { ...held, metadata: { ...held.metadata, finalizers: [] } } });
  });

  it('a missing cluster is done, and deleting one garbage-collects its children', async () => {
    const ns = await createNamespace(k);
    expect((await reconciler.reconcile(ns, 'absent')).outcome.kind).toBe('done');
    await createCluster(ns, 'chat');
    await reconciler.reconcile(ns, 'chat');
    await k.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'chat' });
    expect((await reconciler.reconcile(ns, 'chat')).outcome.kind).toBe('done');
    await eventually('children garbage-collected', async () => {
      const sts = await k.apps.listNamespacedStatefulSet({ namespace: ns });
      const cms = await k.core.listNamespacedConfigMap({ namespace: ns, labelSelector: `${LABEL_INSTANCE}=chat` });
      return sts.items.length === 0 && cms.items.length === 0;
    }, 60_000, 250);
  }, 90_000);

  it.each([
    ['masters below 3', { ...MINIMAL, redis: { masters: 2, replicasPerMaster: 1 } }, 'spec.redis.masters'],
    ['negative logic replicas', { ...MINIMAL, logic: { replicas: -1 } }, 'spec.logic.replicas'],
    ['unknown service type', { ...MINIMAL, gate: { replicas: 2, service: { type: 'Bogus' } } }, 'spec.gate.service.type'],
    ['more replica acks than replicas (CEL)', { ...MINIMAL, redis: { masters: 3, replicasPerMaster: 1, minReplicasAck: 2 } }, 'spec.redis.minReplicasAck'],
  ])('the API server rejects %s naming the field', async (_what, spec, field) => {
    const ns = await createNamespace(k);
    const err = await createCluster(ns, 'bad', spec).then(
      () => null,
      (e: unknown) => e as { code?: number; body?: unknown },
    );
    expect(err?.code).toBe(422);
    expect(String(typeof err?.body === 'string' ? err.body : JSON.stringify(err?.body))).toContain(field);
  });

  it('retries a status write that meets 409 Conflict (stale cached object)', async () => {
    const ns = await createNamespace(k);
    await createCluster(ns, 'chat');
    const stale = await getCluster(ns, 'chat');
    await reconciler.reconcile(ns, 'chat');
    await patchSpec(ns, 'chat', { logic: { replicas: 4 } });
    const log = quietLogger();
    const staleReader = new ClusterReconciler({
      objects: k.objects,
      core: k.core,
      custom: k.custom,
      log,
      events: createEventRecorder({ core: k.core, log }),
      readCached: (_apiVersion, kind) => (kind === 'ImGroupCluster' ? { ...stale, spec: { ...stale.spec, logic: { replicas: 4 } } } : undefined),
    });
    const report = await staleReader.reconcile(ns, 'chat');
    expect(report.outcome.kind, JSON.stringify(report.outcome)).toBe('requeueAfter');
    expect(report.statusWritten).toBe(true);
    const status = (await getCluster(ns, 'chat')).status;
    expect(status?.logic?.replicas).toBe(4);
  });

  it('an invalid spec that bypassed validation is terminal: Degraded in status and a Warning Event', async () => {
    const ns = await createNamespace(k);
    await createCluster(ns, 'chat');
    const valid = await getCluster(ns, 'chat');
    const log = quietLogger();
    const bypass = new ClusterReconciler({
      objects: k.objects,
      core: k.core,
      custom: k.custom,
      log,
      events: createEventRecorder({ core: k.core, log }),
      readCached: (_apiVersion, kind) => (kind === 'ImGroupCluster' ? { ...valid, spec: { ...valid.spec, redis: { masters: 1, replicasPerMaster: 1 } } } : undefined),
    });
    const report = await bypass.reconcile(ns, 'chat');
    expect(report.outcome.kind).toBe('terminal');
    expect(report.applied).toEqual([]);
    const degraded = (await getCluster(ns, 'chat')).status?.conditions?.find((c) => c.type === 'Degraded');
    expect(degraded).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(degraded?.message).toContain('spec.redis.masters');
    const events = await k.core.listNamespacedEvent({ namespace: ns });
    expect(events.items.some((e) => e.reason === 'InvalidSpec' && e.type === 'Warning' && e.involvedObject.name === 'chat')).toBe(true);
  });

  afterAll(async () => {});
});
