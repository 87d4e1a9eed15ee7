/**
 * Issue 10 §3: the path a user takes, end to end, on the real control plane (global-e2e.ts) with
 * the test node agent running every pod — the operator's included — as a local process:
 *
 *   1. `helm install` into a `restricted` namespace: the operator becomes Ready and leads, as its
 *      ServiceAccount (audit log), in cluster.
 *   7. RBAC: that ServiceAccount may do what the operator does and not more (SubjectAccessReview);
 *      a namespaced release (`watchNamespace`) may not read Secrets elsewhere.
 *   2. `kubectl apply` the small example: Ready, Redis `cluster_state:ok` with 16384 slots, the
 *      membership ConfigMap lists the logic pods, clients on the two gates talk, `imgroup bench
 *      --target` loses nothing.
 *   3. Logic 2 → 4 → 1 while clients send: membership follows, no accepted message lost.
 *   4. A gate pod's process killed: its clients reconnect to the other gate and get what they missed.
 *   5. Redis masters 3 → 4 under traffic: no key, no message lost.
 *  5b. `kubectl patch` of the auth Secret's jwt-secret (issue 12 §5): the operator rolls the gate
 *      pods and no other; afterwards a token signed with the old secret is refused (HTTP 401) and
 *      new ones work, messages included.
 *   6. `helm upgrade` (2 replicas: one leader; a changed CRD description reaches the server);
 *      `helm uninstall` keeps the CRD and the custom resources and removes the rest.
 *
 * The steps build on each other, in this order, on one release and one ImGroupCluster. Clients
 * reach the gates as users do, through the gate Service (ServiceProxy stands in for kube-proxy).
 * Every wait is for a state; nothing is timed.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiextensionsV1Api, AuthorizationV1Api, loadAllYaml, loadYaml, NetworkingV1Api, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CRD_NAME, GROUP, PLURAL } from '../../operator/api/v1alpha1.js';
import { AUTH_SECRET_KEYS, authSecretName } from '../../operator/desired/auth-secret.js';
import { REDIS_PORT } from '../../operator/desired/ports.js';
import { signToken } from '../../runtime/auth/token-signer.js';
import { ImgroupClient } from '../../runtime/client/index.js';
import type { WebSocketConstructor } from '../../runtime/client/web-socket-like.js';
import { imgroupBinPath } from '../../runtime/dev/imgroup-process.js';
import { acceptedWriters, serviceAccountUser } from '../support/e2e/audit-log.js';
import { ChatCluster, isPodReady } from '../support/e2e/chat-cluster.js';
import { ChatTraffic } from '../support/e2e/chat-traffic.js';
import { CHART_DIR, helm, kubectl, PRODUCTION_EXAMPLE, run, SMALL_EXAMPLE } from '../support/e2e/cli-tools.js';
import { OperatorRelease } from '../support/e2e/operator-release.js';
import { ServiceProxy } from '../support/e2e/service-proxy.js';
import { MERGE_PATCH } from '../support/node-agent/agent-api.js';
import { RawClient } from '../support/raw-client.js';
import { NodeAgent, imgroupRuntime, redisRuntime } from '../support/node-agent/index.js';
import { podDnsEnv } from '../support/node-agent/pod-dns.js';
import { installPodDnsLookup } from '../support/pod-dns-lookup.js';
import { eventually, type KubeClients, kubeClients, uniqueName } from '../support/operator-fixture.js';
import { keyClient, missingKeys, writeKeys } from '../support/redis-key-traffic.js';

const RELEASE = 'imgroup';
const REDIS_PODS = { labelSelector: 'app.kubernetes.io/component=redis' };
const KEYS = 5000;

async function restrictedNamespace(k: KubeClients, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await k.core.createNamespace({ body: { metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } } } });
  return name;
}

describe('helm install → kubectl apply → a running chat cluster (issue 10 §3)', () => {
  let k: KubeClients;
  let kubeconfig: string;
  let agent: NodeAgent;
  let ns: string;
  let operator: OperatorRelease;
  let chat: ChatCluster;
  let gateProxy: ServiceProxy | null = null;
  let restoreLookup: (() => void) | null = null;
  const traffics: ChatTraffic[] = [];

  const wait = (what: string, probe: () => Promise<boolean>, timeoutMs = 180_000) =>
    eventually(what, probe, { timeoutMs, intervalMs: 250, retryErrors: true, explain: async () => `${await operator?.explain()}\n${chat ? await chat.explain() : ''}` });

  async function newTraffic(tag: string, users = 4, senders = 2): Promise<ChatTraffic> {
    const { jwtSecret, adminToken } = await chat.credentials();
    const proxy = gateProxy as ServiceProxy;
    const ids = Array.from({ length: users }, (_, i) => `${tag}-u${i}`);
    const t = new ChatTraffic({ wsUrl: `ws://127.0.0.1:${proxy.port}/v1/ws`, httpUrl: `http://127.0.0.1:${proxy.port}`, jwtSecret, adminToken, groupId: `${tag}-group`, users: ids, senders: ids.slice(0, senders) });
    traffics.push(t);
    await t.connect();
    return t;
  }

  beforeAll(async () => {
    kubeconfig = inject('kubeconfig');
    k = kubeClients(kubeconfig);
    // kube-scheduler places every pod but Redis's: those have claims, which no provisioner binds
    // here (the scheduler would wait for one for ever), so the agent binds them as a scheduler would.
    agent = new NodeAgent({ kubeconfig, runtimes: [redisRuntime(), imgroupRuntime()], bind: REDIS_PODS, probePeriodCapMs: 1000, maxTerminationGraceMs: 10_000 });
    await agent.start();
    restoreLookup = installPodDnsLookup((host) => agent.resolve(host));
    ns = await restrictedNamespace(k, 'e2e');
    operator = new OperatorRelease(k, ns, RELEASE);
  }, 120_000);

  afterAll(async () => {
    for (const t of traffics) await t.close();
    await gateProxy?.stop();
    restoreLookup?.();
    await helm(kubeconfig, ['uninstall', RELEASE, '-n', ns, '--ignore-not-found']).catch(() => undefined);
    if (ns) await k.core.deleteNamespace({ name: ns }).catch(() => undefined);
    await agent?.stop();
  }, 120_000);

  // -------------------------------------------------------------------------------------------
  it('1. helm install into a restricted namespace: the operator becomes Ready and leads, as its ServiceAccount', async () => {
    await helm(kubeconfig, ['install', RELEASE, CHART_DIR, '--namespace', ns]);
    await wait('the operator is Ready and leads', () => operator.settled(1));
    const sa = await operator.serviceAccount();
    // In cluster: the Lease is written with the pod's ServiceAccount token and nothing else.
    const writers = acceptedWriters(inject('auditLog'), { resource: 'leases', namespace: ns });
    expect([...writers.keys()]).toEqual([serviceAccountUser(ns, sa)]);
  });

  // -------------------------------------------------------------------------------------------
  it("7. RBAC: the operator's ServiceAccount may do every verb it uses and not what it must not", async () => {
    const authz = k.kc.makeApiClient(AuthorizationV1Api);
    const can = async (user: string, saNamespace: string, attrs: { verb: string; group?: string; resource: string; subresource?: string; namespace?: string; name?: string }): Promise<boolean> => {
      const review = await authz.createSubjectAccessReview({
        body: { spec: { user, groups: ['system:serviceaccounts', `system:serviceaccounts:${saNamespace}`, 'system:authenticated'], resourceAttributes: { group: attrs.group ?? '', ...attrs } } },
      });
      return review.status?.allowed === true;
    };
    const user = serviceAccountUser(ns, await operator.serviceAccount());
    const elsewhere = 'some-team';
    // What the operator does: the rules the chart ships (charts/imgroup/files/rbac/, which a unit
    // test derives from the operator's code), each verb checked against the installed RBAC, in a
    // namespace of no release; its leader Lease in the release namespace.
    const rules = loadYaml<V1PolicyRule[]>(readFileSync(join(CHART_DIR, 'files', 'rbac', 'operator-rules.yaml'), 'utf8'));
    const uses: Array<{ verb: string; group?: string; resource: string; subresource?: string; namespace?: string; name?: string }> = rules.flatMap((r) =>
      (r.resources ?? []).flatMap((res) =>
        (r.verbs ?? []).map((verb) => {
          const [resource = '', subresource] = res.split('/');
          return { verb, group: r.apiGroups?.[0] ?? '', resource, ...(subresource ? { subresource } : {}), namespace: elsewhere };
        }),
      ),
    );
    expect(uses.length).toBeGreaterThan(10);
    const lease = (await k.coordination.listNamespacedLease({ namespace: ns })).items[0]?.metadata?.name as string;
    uses.push(
      { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: ns },
      ...['get', 'update'].map((verb) => ({ verb, group: 'coordination.k8s.io', resource: 'leases', namespace: ns, name: lease })),
    );
    const notAllowed = [];
    for (const a of uses) if (!(await can(user, ns, a))) notAllowed.push(a);
    expect(notAllowed).toEqual([]);
    // What it must not do.
    const mustNot = [
      { verb: 'update', resource: 'nodes' },
      { verb: 'patch', resource: 'nodes' },
      { verb: 'delete', resource: 'nodes' },
      { verb: 'create', resource: 'pods', subresource: 'exec', namespace: elsewhere },
      { verb: 'delete', resource: 'pods', namespace: elsewhere },
      { verb: 'create', group: 'apps', resource: 'deployments', namespace: elsewhere },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
      { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: elsewhere },
      { verb: 'update', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
      { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: elsewhere },
    ];
    const allowed = [];
    for (const a of mustNot) if (await can(user, ns, a)) allowed.push(a);
    expect(allowed).toEqual([]);

    // Namespaced mode: Role/RoleBinding in the watched namespace only (the CRD is the first release's).
    const nsB = await restrictedNamespace(k, 'e2e-nsmode');
    try {
      await helm(kubeconfig, ['install', `${RELEASE}-nsmode`, CHART_DIR, '--namespace', nsB, '--set', `watchNamespace=${nsB}`, '--set', 'crds.install=false']);
      const second = new OperatorRelease(k, nsB, `${RELEASE}-nsmode`);
      const userB = serviceAccountUser(nsB, await second.serviceAccount());
      expect(await can(userB, nsB, { verb: 'create', group: 'apps', resource: 'statefulsets', namespace: nsB })).toBe(true);
      expect(await can(userB, nsB, { verb: 'get', resource: 'secrets', namespace: nsB })).toBe(true);
      for (const a of [
        { verb: 'get', resource: 'secrets', namespace: ns },
        { verb: 'list', resource: 'secrets', namespace: 'kube-system' },
        { verb: 'list', group: GROUP, resource: PLURAL, namespace: ns },
        { verb: 'update', resource: 'nodes' },
      ]) {
        expect(await can(userB, nsB, a), JSON.stringify(a)).toBe(false);
      }
      const rbac = k.kc.makeApiClient(RbacAuthorizationV1Api);
      const clusterBindings = (await rbac.listClusterRoleBinding()).items.filter((b) => b.metadata?.labels?.['app.kubernetes.io/instance'] === `${RELEASE}-nsmode`);
      expect(clusterBindings.map((b) => b.metadata?.name)).toEqual([]);
    } finally {
      await helm(kubeconfig, ['uninstall', `${RELEASE}-nsmode`, '-n', nsB, '--ignore-not-found']).catch(() => undefined);
      await k.core.deleteNamespace({ name: nsB }).catch(() => undefined);
    }
  });

  // -------------------------------------------------------------------------------------------
  it('2a. the production example is accepted by the API server as is: schema, CEL rules, no pruned field (server-side dry run)', async () => {
    // Its 4 gates, 6 logic and 12 Redis pods ask for more CPU and memory than this machine has, so
    // it is not run here; the API server checks it whole (the CRD's schema and rules, with
    // --validate=strict refusing a field the schema would prune) and stores nothing.
    const { stdout, stderr } = await kubectl(kubeconfig, ['apply', '--server-side', '--dry-run=server', '--validate=strict', '--field-manager=e2e', '-n', ns, '-f', PRODUCTION_EXAMPLE, '-o', 'json']);
    expect(stderr).toBe('');
    const served = JSON.parse(stdout) as { kind: string; spec: { gate: { replicas: number }; redis: { masters: number; storage: { storageClassName?: string } } } };
    expect(served).toMatchObject({ kind: 'ImGroupCluster', spec: { gate: { replicas: 4 }, redis: { masters: 6, storage: { storageClassName: 'fast-ssd' } } } });
    const broken = readFileSync(PRODUCTION_EXAMPLE, 'utf8').replace('masters: 6', 'masters: 2');
    await expect(kubectl(kubeconfig, ['apply', '--server-side', '--dry-run=server', '--field-manager=e2e', '-n', ns, '-f', '-'], broken)).rejects.toThrow(/masters/);
  });

  // -------------------------------------------------------------------------------------------
  it('2. kubectl apply the small example: Ready, Redis ok, membership, clients on both gates talk, bench loses nothing', async () => {
    const example = loadAllYaml(readFileSync(SMALL_EXAMPLE, 'utf8')).find((o) => (o as { kind?: string }).kind === 'ImGroupCluster') as { metadata: { name: string }; spec?: { gate?: { replicas?: number }; logic?: { replicas?: number }; redis?: { masters?: number } } };
    await kubectl(kubeconfig, ['apply', '-n', ns, '-f', SMALL_EXAMPLE]);
    chat = new ChatCluster(k, ns, example.metadata.name);
    const gates = example.spec?.gate?.replicas ?? 2;
    const masters = example.spec?.redis?.masters ?? 3;
    expect(gates, 'the small example has two gates (a client on each)').toBeGreaterThanOrEqual(2);
    await wait('the ImGroupCluster is Ready', async () => (await chat.condition('Ready')) === 'True', 300_000);
    await wait(`Redis says cluster_state:ok, 16384 slots, ${masters} masters`, () => chat.redisHealthy(masters));
    await wait('the membership ConfigMap lists the Ready logic pods', async () => {
      const logic = await chat.readyPodNames('logic');
      return logic.length > 0 && JSON.stringify(await chat.membershipIds()) === JSON.stringify(logic.sort());
    });
    const { jwtSecret, adminToken, redisPassword } = await chat.credentials();
    const gatePods = (await chat.pods('gate')).filter(isPodReady);
    const clientPort = (p: (typeof gatePods)[number]) => p.spec?.containers[0]?.ports?.find((x) => x.name === 'client')?.containerPort ?? 8080;
    const gateUrls = gatePods.map((p) => `${p.status?.podIP}:${clientPort(p)}`);

    // A user on each gate, one group.
    const group = 'e2e-two-gates';
    const res = await fetch(`http://${gateUrls[0]}/v1/groups/${group}/members`, { method: 'PUT', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ add: ['alice', 'bob'] }) });
    expect(res.status).toBe(200);
    const clientOn = (url: string, user: string) => new ImgroupClient({ url: `ws://${url}/v1/ws`, token: () => signToken(jwtSecret, user, 3600), WebSocket: WebSocket as unknown as WebSocketConstructor });
    const alice = clientOn(gateUrls[0] as string, 'alice');
    const bob = clientOn(gateUrls[1] as string, 'bob');
    try {
      const [wa, wb] = await Promise.all([alice.connect(), bob.connect()]);
      expect(wa.gate).not.toBe(wb.gate);
      const got: Record<string, string[]> = { alice: [], bob: [] };
      alice.on('message', (m) => got.alice?.push(`${m.from}:${m.body}`));
      bob.on('message', (m) => got.bob?.push(`${m.from}:${m.body}`));
      await alice.send(group, 'hello from gate A');
      await bob.send(group, 'hello from gate B');
      await wait('both users received both messages', async () => [got.alice, got.bob].every((l) => l?.includes('alice:hello from gate A') && l.includes('bob:hello from gate B')), 60_000);
    } finally {
      alice.close();
      bob.close();
    }

    // The benchmark against the gate pods, as an operator of the cluster runs it.
    const redisSeeds = (await chat.pods('redis')).filter(isPodReady).map((p) => `${p.status?.podIP}:${REDIS_PORT}`);
    const bench = await run(process.execPath, [
      imgroupBinPath, 'bench', '--target', gateUrls.map((u) => `http://${u}`).join(','), '--admin-token', adminToken, '--jwt-secret', jwtSecret,
      '--redis-seeds', redisSeeds.join(','), '--redis-password', redisPassword,
      '--groups', '2', '--group-size', '20', '--senders', '4', '--messages', '400', '--warmup', '10', '--workers', '1', '--json',
    ], { env: podDnsEnv(join(agent.dataDir, 'pod-hosts'), undefined), timeoutMs: 240_000 });
    const report = JSON.parse(bench.stdout.slice(bench.stdout.indexOf('{'))) as { lost?: number; duplicates?: number; cursorsChecked?: boolean };
    expect(report).toMatchObject({ lost: 0 });
  });

  // -------------------------------------------------------------------------------------------
  it('3. logic 2 → 4 → 1 while clients send: membership follows, no accepted message is lost', async () => {
    gateProxy = new ServiceProxy({ kc: k.kc, namespace: ns, service: `${chat.name}-gate`, portName: 'client' });
    await gateProxy.start();
    await wait('the gate Service has Ready endpoints', async () => gateProxy!.ready.length >= 2);
    const t = await newTraffic('scale-logic');
    t.start();
    await t.acceptedAtLeast(20, 'before scaling');
    for (const replicas of [4, 1]) {
      await chat.patchSpec({ logic: { replicas } });
      await wait(`membership lists the ${replicas} Ready logic pods`, async () => {
        const logic = await chat.readyPodNames('logic');
        return logic.length === replicas && JSON.stringify(await chat.membershipIds()) === JSON.stringify(logic.sort());
      });
      await t.acceptedAtLeast(20, `with ${replicas} logic pods`);
    }
    await t.stop();
    expect(await t.waitDelivered()).toEqual({ missing: {}, duplicated: {} });
  });

  // -------------------------------------------------------------------------------------------
  it("4. a gate pod's process killed: its clients reconnect to the other gate and receive what they missed", async () => {
    const t = await newTraffic('gate-kill', 6, 2);
    const gatesOf = () => Object.fromEntries([0, 1, 2, 3, 4, 5].map((i) => [`gate-kill-u${i}`, t.client(`gate-kill-u${i}`).welcome?.gate ?? '']));
    const before = gatesOf();
    const gatePods = await chat.readyPodNames('gate');
    // The gate most receivers are on (round robin spreads them); its pod goes down and stays down.
    const victim = gatePods.find((g) => Object.entries(before).some(([u, gate]) => gate === g && !['gate-kill-u0', 'gate-kill-u1'].includes(u))) as string;
    const other = gatePods.find((g) => g !== victim) as string;
    const movers = Object.entries(before).filter(([, gate]) => gate === victim).map(([u]) => u);
    expect(movers.length).toBeGreaterThan(0);
    t.start();
    await t.acceptedAtLeast(10, 'before the kill');
    const receivedAtKill = Object.fromEntries(movers.map((u) => [u, t.receivedBy(u)]));
    await agent.holdDown(victim, { namespace: ns, graceMs: 0 }); // SIGKILL, and no restart meanwhile
    await t.acceptedAtLeast(20, 'while the gate is down');
    await wait(`the clients of ${victim} are on ${other} again`, async () => movers.every((u) => t.client(u).state === 'open' && t.client(u).welcome?.gate === other), 120_000);
    await t.stop();
    expect(await t.waitDelivered()).toEqual({ missing: {}, duplicated: {} });
    for (const u of movers) expect(t.receivedBy(u)).toBeGreaterThan(receivedAtKill[u] as number);
    await agent.bringUp(victim, { namespace: ns });
    await wait(`${victim} Ready again`, async () => (await chat.readyPodNames('gate')).includes(victim));
  });

  // -------------------------------------------------------------------------------------------
  it('5. Redis masters 3 → 4 with live traffic: no key and no message lost', async () => {
    const { redisPassword } = await chat.credentials();
    const seeds = (await chat.pods('redis')).filter(isPodReady).map((p) => ({ host: p.status?.podIP ?? '', port: REDIS_PORT }));
    const keys = keyClient({ seeds, password: redisPassword });
    try {
      await writeKeys(keys, 'e2e-scale', KEYS);
      const t = await newTraffic('scale-redis');
      t.start();
      await t.acceptedAtLeast(20, 'before scaling Redis');
      await chat.patchSpec({ redis: { masters: 4 } });
      await wait('Redis has 4 masters, all 16384 slots ok', () => chat.redisHealthy(4), 300_000);
      await wait('the ImGroupCluster is Ready again', async () => (await chat.condition('Ready')) === 'True');
      await t.acceptedAtLeast(20, 'after scaling Redis');
      await t.stop();
      expect(await t.waitDelivered()).toEqual({ missing: {}, duplicated: {} });
      expect(await missingKeys(keys, 'e2e-scale', KEYS)).toEqual([]);
    } finally {
      keys.disconnect();
    }
  });

  // -------------------------------------------------------------------------------------------
  it("5b. a hand edit of the auth Secret's jwt-secret rolls the gate pods, and only them: old tokens are refused, new ones work", async () => {
    const before = await chat.credentials();
    const uids = async (c: 'gate' | 'logic' | 'redis') => (await chat.pods(c)).map((p) => p.metadata?.uid ?? '').sort();
    const [gateUids, logicUids, redisUids] = [await uids('gate'), await uids('logic'), await uids('redis')];
    const gates = gateUids.length;
    const oldToken = await signToken(before.jwtSecret, 'rotate-alice', 3600);
    const jwtSecret = randomBytes(36).toString('base64url');
    const secretName = authSecretName(await chat.read());
    const t0 = performance.now();
    await k.core.patchNamespacedSecret({ namespace: ns, name: secretName, body: { data: { [AUTH_SECRET_KEYS.jwtSecret]: Buffer.from(jwtSecret).toString('base64') } } }, MERGE_PATCH);
    await wait(`all ${gates} gate pods replaced and Ready`, async () => {
      const pods = await chat.pods('gate');
      return pods.length === gates && pods.every((p) => isPodReady(p) && !gateUids.includes(p.metadata?.uid ?? ''));
    }, 300_000);
    console.log(`Secret edit → all ${gates} gate pods replaced and Ready after ${((performance.now() - t0) / 1000).toFixed(1)} s (a measurement)`);
    expect(await uids('logic')).toEqual(logicUids);
    expect(await uids('redis')).toEqual(redisUids);
    await wait('the gate Service has Ready endpoints', async () => gateProxy!.ready.length >= gates);
    const wsUrl = `ws://127.0.0.1:${(gateProxy as ServiceProxy).port}/v1/ws`;
    await expect(RawClient.connect(wsUrl, oldToken)).rejects.toThrow('HTTP 401');
    (await RawClient.connect(wsUrl, await signToken(jwtSecret, 'rotate-alice', 3600))).ws.close();
    const t = await newTraffic('rotated'); // signs with the Secret's new value
    t.start();
    await t.acceptedAtLeast(10, 'after the rotation');
    await t.stop();
    expect(await t.waitDelivered()).toEqual({ missing: {}, duplicated: {} });
    await wait('the ImGroupCluster is Ready, SecretsApplied', async () => (await chat.condition('Ready')) === 'True' && (await chat.condition('SecretsApplied')) === 'True');
  });

  // -------------------------------------------------------------------------------------------
  it('6. helm upgrade (2 replicas, one leader; a changed CRD description), then helm uninstall keeps the CRD and the custom resources', async () => {
    // The chart as a newer version would ship it: one field description of the CRD changed.
    const chartCopy = join(mkdtempSync(join(tmpdir(), 'imgroup-chart-')), 'imgroup');
    cpSync(CHART_DIR, chartCopy, { recursive: true });
    const marker = `(e2e upgrade ${Date.now().toString(36)})`;
    // The CRD the chart renders from templates/ (its manifest may live under files/ for the template to wrap).
    const crdFile = readdirSync(chartCopy, { recursive: true })
      .map(String)
      .filter((f) => !f.startsWith('examples') && !f.startsWith('crds'))
      .map((f) => join(chartCopy, f))
      .find((f) => /\.ya?ml$/.test(f) && /^kind:\s*CustomResourceDefinition/m.test(readFileSync(f, 'utf8')));
    expect(crdFile, 'the chart ships the CRD through templates/ (so that helm upgrade updates it)').toBeDefined();
    const crdText = readFileSync(crdFile as string, 'utf8');
    const changed = crdText.replace(/(description: )(['"]?)(Number of gate pods)/, `$1$2$3 ${marker}`);
    expect(changed, 'the CRD template carries the gate replicas description').not.toBe(crdText);
    writeFileSync(crdFile as string, changed);

    await helm(kubeconfig, ['upgrade', RELEASE, chartCopy, '--namespace', ns, '--reuse-values', '--set', 'replicaCount=2']);
    await wait('two operator replicas Ready, exactly one leading', () => operator.settled(2));
    const ext = k.kc.makeApiClient(ApiextensionsV1Api);
    await wait('the changed CRD description is on the server', async () => JSON.stringify(await ext.readCustomResourceDefinition({ name: CRD_NAME })).includes(marker), 60_000);

    await helm(kubeconfig, ['uninstall', RELEASE, '--namespace', ns]);
    await wait('the operator Deployment and its pods are gone', async () => (await operator.deployment()) === null && (await operator.pods()).length === 0);
    // Kept, as documented: the CRD (helm.sh/resource-policy: keep) and so every ImGroupCluster.
    expect((await ext.readCustomResourceDefinition({ name: CRD_NAME })).metadata?.name).toBe(CRD_NAME);
    expect((await chat.read()).metadata?.name).toBe(chat.name);
    // Removed: everything else the release made.
    const rbac = k.kc.makeApiClient(RbacAuthorizationV1Api);
    const left = [
      ...(await k.core.listNamespacedServiceAccount({ namespace: ns, labelSelector: `app.kubernetes.io/instance=${RELEASE}` })).items.map((o) => `ServiceAccount/${o.metadata?.name}`),
      ...(await k.core.listNamespacedService({ namespace: ns, labelSelector: `app.kubernetes.io/instance=${RELEASE}` })).items.map((o) => `Service/${o.metadata?.name}`),
      ...(await rbac.listClusterRole({ labelSelector: `app.kubernetes.io/instance=${RELEASE}` })).items.map((o) => `ClusterRole/${o.metadata?.name}`),
      ...(await rbac.listClusterRoleBinding({ labelSelector: `app.kubernetes.io/instance=${RELEASE}` })).items.map((o) => `ClusterRoleBinding/${o.metadata?.name}`),
      ...(await k.apps.listNamespacedDeployment({ namespace: ns, labelSelector: `app.kubernetes.io/instance=${RELEASE}` })).items.map((o) => `Deployment/${o.metadata?.name}`),
      ...(await k.kc.makeApiClient(NetworkingV1Api).listNamespacedNetworkPolicy({ namespace: ns, labelSelector: `app.kubernetes.io/instance=${RELEASE}` })).items.map((o) => `NetworkPolicy/${o.metadata?.name}`),
    ];
    // The ImGroupCluster's own objects carry instance=<cluster name>; only the release's are counted.
    expect(left.filter((o) => !o.includes(chat.name))).toEqual([]);
  });
});
