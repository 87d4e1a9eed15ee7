/**
 * Issue 12 §5, NetworkPolicies, on the real API server: the operator (the controller, in process)
 * applies N-gate, N-logic and N-redis — the API server validates each one — owned by the
 * ImGroupCluster, follows spec changes and deletes them when the spec turns them off.
 *
 * No network plugin that enforces NetworkPolicies can run here. The closest real thing: the pods
 * the operator's StatefulSets make are created as the StatefulSet controller would (labels, ports
 * and all, from the live templates), next to an operator pod, a Prometheus, an app pod and a gate
 * of another cluster; the policies read back from the API are evaluated against those pods by the
 * test-support evaluator ("which pod may reach which port"). A label or port rename that silently
 * opens or closes a path fails here.
 */
import { NetworkingV1Api, type V1NetworkPolicy, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, type ImGroupCluster, PLURAL, VERSION } from '../../../operator/api/v1alpha1.js';
import { ImGroupController } from '../../../operator/controller/controller.js';
import { LABEL_MANAGED_BY, MANAGER } from '../../../operator/desired/object-meta.js';
import { mayConnect, type NamespaceView, type PodView, type Source } from '../../support/network-policy-evaluator.js';
import { MERGE_PATCH } from '../../support/node-agent/agent-api.js';
import { createNamespace, eventually, installCrd, type KubeClients, kubeClients, quietLogger } from '../../support/operator-fixture.js';

const SPEC = { gate: { replicas: 1 }, logic: { replicas: 1 }, redis: { masters: 3, replicasPerMaster: 0 } };
const OPERATOR_LABELS = { 'app.kubernetes.io/name': 'imgroup', 'app.kubernetes.io/instance': 'imgroup', 'app.kubernetes.io/component': 'operator' };
const managed = `${LABEL_MANAGED_BY}=${MANAGER}`;

describe('NetworkPolicies of an ImGroupCluster on the real API server', () => {
  let k: KubeClients;
  let networking: NetworkingV1Api;
  let ns: string;
  let opNs: string;
  let monNs: string;
  let controller: ImGroupController;
  let cluster: ImGroupCluster;

  const policies = async (): Promise<V1NetworkPolicy[]> => (await networking.listNamespacedNetworkPolicy({ namespace: ns, labelSelector: managed })).items;
  const patchSpec = (networkPolicy: unknown) =>
    k.custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'chat', body: { spec: { networkPolicy } } }, MERGE_PATCH);

  async function createPod(namespace: string, name: string, labels: Record<string, string>): Promise<void> {
    await k.core.createNamespacedPod({ namespace, body: { metadata: { name, labels }, spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'registry.example/any:1' }] } } });
  }

  /** Pod 0 of a live StatefulSet, as the StatefulSet controller makes it from the template. */
  async function createPodOf(stsName: string): Promise<void> {
    const sts: V1StatefulSet = await k.apps.readNamespacedStatefulSet({ namespace: ns, name: stsName });
    const name = `${stsName}-0`;
    const template = sts.spec?.template;
    const claims = (sts.spec?.volumeClaimTemplates ?? []).map((c) => ({ name: c.metadata?.name as string, persistentVolumeClaim: { claimName: `${c.metadata?.name}-${name}` } }));
    await k.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name, labels: { ...template?.metadata?.labels } }, spec: { ...template?.spec, containers: template?.spec?.containers ?? [], volumes: [...(template?.spec?.volumes ?? []), ...claims] } },
    });
  }

  const view = (p: V1Pod): PodView => ({
    name: p.metadata?.name as string,
    namespace: p.metadata?.namespace as string,
    labels: { ...p.metadata?.labels },
    ports: (p.spec?.containers ?? []).flatMap((c) => c.ports ?? []).map((x) => ({ name: x.name, containerPort: x.containerPort, protocol: x.protocol })),
  });

  /** Every pod and namespace of the test, as the API has them. */
  async function world(): Promise<{ pods: Map<string, PodView>; namespaces: NamespaceView[] }> {
    const pods = new Map<string, PodView>();
    const namespaces: NamespaceView[] = [];
    for (const n of [ns, opNs, monNs]) {
      for (const p of (await k.core.listNamespacedPod({ namespace: n })).items) pods.set(p.metadata?.name as string, view(p));
      const nsObj = await k.core.readNamespace({ name: n });
      namespaces.push({ name: n, labels: { ...nsObj.metadata?.labels } });
    }
    return { pods, namespaces };
  }

  /** The tiers' pods and the others, created once (any test may come first). */
  let podsCreated: Promise<void> | undefined;
  function ensurePods(): Promise<void> {
    podsCreated ??= (async () => {
      await eventually('the StatefulSets', async () => (await k.apps.listNamespacedStatefulSet({ namespace: ns })).items.length === 3);
      await Promise.all(['chat-gate', 'chat-logic', 'chat-redis'].map(createPodOf));
      const gate = (await k.core.readNamespacedPod({ namespace: ns, name: 'chat-gate-0' })).metadata?.labels ?? {};
      await Promise.all([
        createPod(opNs, 'imgroup-operator-0', OPERATOR_LABELS),
        createPod(opNs, 'other-component', { ...OPERATOR_LABELS, 'app.kubernetes.io/component': 'webhook' }),
        createPod(ns, 'operator-labels-wrong-namespace', OPERATOR_LABELS),
        createPod(ns, 'gate-of-other-cluster', { ...gate, 'app.kubernetes.io/instance': 'other' }),
        createPod(ns, 'app', { app: 'web' }),
        createPod(monNs, 'prometheus', { app: 'prometheus' }),
      ]);
    })();
    return podsCreated;
  }

  function port(pod: PodView, name: string): number {
    const p = pod.ports.find((x) => x.name === name);
    if (!p) throw new Error(`pod ${pod.name} declares no port ${name}`);
    return p.containerPort;
  }

  beforeAll(async () => {
    k = kubeClients(inject('kubeconfig'));
    networking = k.kc.makeApiClient(NetworkingV1Api);
    await installCrd(k);
    [ns, opNs, monNs] = await Promise.all([createNamespace(k, 'np'), createNamespace(k, 'np-op'), createNamespace(k, 'np-mon')]);
    controller = new ImGroupController({ kc: k.kc, namespace: ns, log: quietLogger(), registry: new Registry(), networkPolicies: { operatorPods: { namespace: opNs, labels: OPERATOR_LABELS } } });
    await controller.start();
    await eventually('informers synced', async () => controller.readiness() === null);
    cluster = (await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'chat' }, spec: SPEC } })) as ImGroupCluster;
  }, 120_000);

  afterAll(async () => {
    await controller?.stop();
  });

  it('applies N-gate, N-logic and N-redis, ingress only, each selecting its tier and owned by the cluster', async () => {
    await eventually('three NetworkPolicies', async () => (await policies()).length === 3);
    const got = await policies();
    expect(got.map((p) => p.metadata?.name).sort()).toEqual(['chat-gate', 'chat-logic', 'chat-redis']);
    for (const p of got) {
      expect(p.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'ImGroupCluster', name: 'chat', uid: cluster.metadata.uid, controller: true })]);
      expect(p.spec?.policyTypes).toEqual(['Ingress']);
    }
  });

  it('admits exactly the expected paths between the pods the operator\'s StatefulSets make', async () => {
    await ensurePods();
    // The defaults (another test may have set sources): merge-patch null removes them.
    await patchSpec({ enabled: true, clientFrom: null, metricsFrom: null });
    await eventually('the default NetworkPolicies', async () => {
      const got = await policies();
      const g = got.find((p) => p.metadata?.name === 'chat-gate');
      return got.length === 3 && g?.spec?.ingress?.[0]?._from === undefined;
    });
    const { pods, namespaces } = await world();
    const pol = await policies();
    const pod = (n: string) => pods.get(n) as PodView;
    const sources: Record<string, Source> = Object.fromEntries([...pods.keys()].map((n) => [n, { pod: pod(n) }]));
    sources.internet = { ip: '203.0.113.9' };
    const everyPod = [...pods.keys()];
    const table: [string, string, string[]][] = [
      ['chat-gate-0', 'client', [...everyPod, 'internet']],
      ['chat-gate-0', 'ops', everyPod],
      ['chat-logic-0', 'internal', ['chat-gate-0']],
      ['chat-logic-0', 'ops', everyPod],
      ['chat-redis-0', 'redis', ['chat-gate-0', 'chat-logic-0', 'chat-redis-0', 'imgroup-operator-0']],
      ['chat-redis-0', 'bus', ['chat-redis-0']],
    ];
    for (const [target, portName, allowed] of table) {
      const reached = Object.keys(sources).filter((s) => mayConnect(pol, namespaces, sources[s] as Source, pod(target), port(pod(target), portName)));
      expect(reached.sort(), `${target}:${portName}`).toEqual([...allowed].sort());
    }
  });

  it('follows spec.networkPolicy: configured client and metrics sources only', async () => {
    await ensurePods();
    await patchSpec({
      enabled: true,
      clientFrom: [{ ipBlock: { cidr: '203.0.113.0/24' } }],
      metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': monNs } }, podSelector: { matchLabels: { app: 'prometheus' } } }],
    });
    await eventually('N-gate admits the configured CIDR only', async () => {
      const g = (await policies()).find((p) => p.metadata?.name === 'chat-gate');
      return g?.spec?.ingress?.[0]?._from?.[0]?.ipBlock?.cidr === '203.0.113.0/24';
    });
    const { pods, namespaces } = await world();
    const pol = await policies();
    const gate = pods.get('chat-gate-0') as PodView;
    const logic = pods.get('chat-logic-0') as PodView;
    expect(mayConnect(pol, namespaces, { ip: '203.0.113.9' }, gate, port(gate, 'client'))).toBe(true);
    expect(mayConnect(pol, namespaces, { ip: '198.51.100.9' }, gate, port(gate, 'client'))).toBe(false);
    expect(mayConnect(pol, namespaces, { pod: pods.get('app') as PodView }, gate, port(gate, 'client'))).toBe(false);
    for (const target of [gate, logic]) {
      expect(mayConnect(pol, namespaces, { pod: pods.get('prometheus') as PodView }, target, port(target, 'ops'))).toBe(true);
      expect(mayConnect(pol, namespaces, { pod: pods.get('app') as PodView }, target, port(target, 'ops'))).toBe(false);
    }
  });

  it('the API server refuses a malformed peer, naming the field (the CRD\'s CEL rule and pattern)', async () => {
    const create = (networkPolicy: unknown) =>
      k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'bad' }, spec: { ...SPEC, networkPolicy } } });
    await expect(create({ clientFrom: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] })).rejects.toThrow(/spec\.networkPolicy\.clientFrom: each peer has either ipBlock or namespaceSelector\/podSelector/);
    await expect(create({ metricsFrom: [{ ipBlock: { cidr: 'not-a-cidr' } }] })).rejects.toThrow(/spec\.networkPolicy\.metricsFrom\[0\]\.ipBlock\.cidr/);
  });

  it('deletes them when spec.networkPolicy.enabled is false, and makes them again when true', async () => {
    await eventually('three NetworkPolicies', async () => (await policies()).length === 3);
    await patchSpec({ enabled: false });
    await eventually('no NetworkPolicy left', async () => (await policies()).length === 0);
    await patchSpec({ enabled: true });
    await eventually('three NetworkPolicies again', async () => (await policies()).length === 3);
  });

  it('makes none with the operator\'s feature off (IMGROUP_OPERATOR_NETWORK_POLICIES=false), though the spec asks for them', async () => {
    const offNs = await createNamespace(k, 'np-off');
    const off = new ImGroupController({ kc: k.kc, namespace: offNs, log: quietLogger(), registry: new Registry() });
    await off.start();
    try {
      await eventually('informers synced', async () => off.readiness() === null);
      await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: offNs, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'chat' }, spec: { ...SPEC, networkPolicy: { enabled: true } } } });
      // The reconcile is done once the status is written (it comes after every apply).
      await eventually('the cluster reconciled', async () => {
        const c = (await k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: offNs, plural: PLURAL, name: 'chat' })) as ImGroupCluster;
        return c.status?.observedGeneration === c.metadata.generation && (c.status?.conditions ?? []).some((x) => x.type === 'Ready');
      });
      expect((await k.apps.listNamespacedStatefulSet({ namespace: offNs })).items).toHaveLength(3);
      expect((await networking.listNamespacedNetworkPolicy({ namespace: offNs })).items).toEqual([]);
    } finally {
      await off.stop();
    }
  });
});
