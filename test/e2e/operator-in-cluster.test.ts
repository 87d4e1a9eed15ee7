/**
 * The operator as a pod, the way a cluster runs it — before any chart: a hand-written Deployment,
 * ServiceAccount and RBAC in a namespace that enforces the `restricted` Pod Security Standard. The
 * Deployment and ReplicaSet controllers make the pod, kube-scheduler places it on the test node
 * agent's Node, the API server's ServiceAccount admission adds the `kube-api-access-*` volume,
 * and the agent gives the process what a kubelet gives a container: KUBERNETES_SERVICE_HOST/PORT
 * and that volume (token by TokenRequest, `ca.crt` from `kube-root-ca.crt`, the namespace). The
 * operator must then configure itself in cluster, become Ready, take the leader Lease and
 * reconcile — as its ServiceAccount, which the API server's audit log shows, with no kubeconfig
 * anywhere in its path.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../operator/api/v1alpha1.js';
import { DEFAULT_SERVICE_ACCOUNT_DIR } from '../../runtime/kube/kube-config.js';
import { acceptedWriters, serviceAccountUser } from '../support/e2e/audit-log.js';
import { installOperatorByHand, OPERATOR_LEASE as LEASE, OPERATOR_SA as SA } from '../support/e2e/reference-install.js';
import { NodeAgent, imgroupRuntime, redisRuntime } from '../support/node-agent/index.js';
import { eventually, installCrd, type KubeClients, kubeClients, uniqueName } from '../support/operator-fixture.js';

const isReady = (p: V1Pod) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** The environment a running process was started with (/proc/<pid>/environ). */
function processEnv(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function jwtClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('the operator as a pod of a Deployment, in-cluster, with its ServiceAccount only', () => {
  let k: KubeClients;
  let agent: NodeAgent;
  let ns: string;
  let uninstall: (() => Promise<void>) | null = null;
  let pod: V1Pod;

  const operatorPods = async (): Promise<V1Pod[]> =>
    (await k.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/name=imgroup-operator' })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const explain = async (): Promise<string> => {
    const pods = await operatorPods().catch(() => []);
    const lines = pods.map((p) => `${p.metadata?.name} node=${p.spec?.nodeName ?? '-'} phase=${p.status?.phase} ready=${isReady(p)} ${JSON.stringify(p.status?.containerStatuses?.[0]?.state ?? {})}`);
    const logs = pods.flatMap((p) => (agent.pod(p.metadata?.name ?? '', ns) ? [agent.logTail(p.metadata?.name ?? '', { namespace: ns, lines: 15 })] : []));
    return `operator pods: ${lines.join('; ') || 'none'}\n${logs.join('\n')}`;
  };

  beforeAll(async () => {
    k = kubeClients(inject('kubeconfig'));
    // Redis pods have claims, which no provisioner binds here: the agent binds those pods itself.
    agent = new NodeAgent({ kubeconfig: inject('kubeconfig'), runtimes: [redisRuntime(), imgroupRuntime()], bind: { labelSelector: 'app.kubernetes.io/component=redis' }, probePeriodCapMs: 1000 });
    await agent.start();
    await installCrd(k);
    ns = uniqueName('e2e-op');
    await k.core.createNamespace({ body: { metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } } } });
    uninstall = await installOperatorByHand(k, ns);
  }, 120_000);

  afterAll(async () => {
    if (ns) await k.core.deleteNamespace({ name: ns }).catch(() => undefined);
    await uninstall?.();
    await agent?.stop();
  }, 60_000);

  it('becomes Ready: Deployment → ReplicaSet → Pod, placed by kube-scheduler, admitted as restricted', async () => {
    await eventually('the operator Deployment is available with one Ready pod', async () => {
      const d = await k.apps.readNamespacedDeployment({ namespace: ns, name: 'imgroup-operator' });
      const pods = await operatorPods();
      return d.status?.availableReplicas === 1 && pods.length === 1 && isReady(pods[0] as V1Pod);
    }, { timeoutMs: 120_000, intervalMs: 250, explain });
    pod = (await operatorPods())[0] as V1Pod;
    expect(pod.metadata?.ownerReferences?.[0]?.kind).toBe('ReplicaSet');
    expect(pod.spec?.nodeName).toBe(agent.nodeName);
    expect(pod.spec?.serviceAccountName).toBe(SA);
  }, 150_000);

  it("gets the kubelet's in-cluster environment and no kubeconfig: KUBERNETES_SERVICE_HOST/PORT and the kube-api-access volume", async () => {
    const name = pod.metadata?.name as string;
    // The ServiceAccount admission plugin's volume: token (TokenRequest), kube-root-ca.crt, the namespace.
    const volume = (pod.spec?.volumes ?? []).find((v) => v.name.startsWith('kube-api-access-'));
    const kinds = (volume?.projected?.sources ?? []).map((s) => (s.serviceAccountToken ? 'serviceAccountToken' : s.configMap ? `configMap ${s.configMap.name}` : s.downwardAPI ? 'downwardAPI' : 'other'));
    expect(kinds).toEqual(['serviceAccountToken', 'configMap kube-root-ca.crt', 'downwardAPI']);
    expect(pod.spec?.containers[0]?.volumeMounts).toContainEqual(expect.objectContaining({ name: volume?.name, mountPath: DEFAULT_SERVICE_ACCOUNT_DIR }));

    const running = agent.pod(name, ns);
    const pid = running?.containers[0]?.pid;
    expect(pid).toBeTypeOf('number');
    const env = processEnv(pid as number);
    const server = new URL(k.kc.getCurrentCluster()?.server as string);
    expect(env).toMatchObject({ KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port });
    expect(Object.keys(env).filter((key) => /KUBECONFIG/.test(key))).toEqual([]);
    const saDir = env.IMGROUP_SERVICE_ACCOUNT_DIR as string;
    expect(saDir).toBe(running?.volumes[volume?.name as string]);
    const token = readFileSync(join(saDir, 'token'), 'utf8');
    expect(jwtClaims(token)).toMatchObject({ sub: serviceAccountUser(ns, SA), 'kubernetes.io': { namespace: ns, pod: { name } } });
    expect(readFileSync(join(saDir, 'namespace'), 'utf8')).toBe(ns);
    const rootCa = await k.core.readNamespacedConfigMap({ namespace: ns, name: 'kube-root-ca.crt' });
    expect(readFileSync(join(saDir, 'ca.crt'), 'utf8')).toBe(rootCa.data?.['ca.crt']);
  });

  it('holds the leader Lease in its namespace, written as its ServiceAccount and by no one else', async () => {
    const name = pod.metadata?.name as string;
    await eventually(`Lease ${ns}/${LEASE} held by ${name}`, async () => {
      const lease = await k.coordination.readNamespacedLease({ namespace: ns, name: LEASE }).catch(() => null);
      return lease?.spec?.holderIdentity === name;
    }, { timeoutMs: 60_000, intervalMs: 250, explain });
    // It created the Lease and then renews it (an update): both as its ServiceAccount, no one else.
    const sa = serviceAccountUser(ns, SA);
    const leaseWriters = () => acceptedWriters(inject('auditLog'), { resource: 'leases', namespace: ns, name: LEASE });
    await eventually('the operator renewed its Lease (an update in the audit log)', async () => leaseWriters().get(sa)?.has('update') === true, { timeoutMs: 60_000, intervalMs: 250, explain });
    const writers = leaseWriters();
    expect([...writers.keys()]).toEqual([sa]);
    expect([...(writers.get(sa) ?? [])].sort()).toEqual(['create', 'update']);
  }, 90_000);

  it('reconciles an ImGroupCluster as its ServiceAccount: the StatefulSets and the membership ConfigMap are its writes', async () => {
    await k.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'chat' }, spec: { gate: { replicas: 0 }, logic: { replicas: 0 }, redis: { masters: 3, replicasPerMaster: 0 } } },
    });
    await eventually('the operator created the StatefulSets and the membership ConfigMap', async () => {
      const sets = (await k.apps.listNamespacedStatefulSet({ namespace: ns })).items.map((s) => s.metadata?.name).sort();
      const cm = await k.core.readNamespacedConfigMap({ namespace: ns, name: 'chat-membership' }).then(() => true, () => false);
      return cm && sets.join(',') === 'chat-gate,chat-logic,chat-redis';
    }, { timeoutMs: 60_000, intervalMs: 250, explain });
    const sa = serviceAccountUser(ns, SA);
    for (const filter of [{ resource: 'statefulsets', namespace: ns }, { resource: 'configmaps', namespace: ns, name: 'chat-membership' }]) {
      const writers = acceptedWriters(inject('auditLog'), filter);
      expect([...writers.keys()], filter.resource).toEqual([sa]);
      expect([...(writers.get(sa) ?? [])], filter.resource).toContain('patch'); // server-side apply
    }
  }, 90_000);
});
