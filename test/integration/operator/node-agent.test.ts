/**
 * The test node agent (test/support/node-agent) against the real API server: Pod objects become
 * real redis-server processes on loopback addresses of their own, with the kubelet's env, volume,
 * probe, restart and deletion semantics; fault hooks; pod DNS; and the operator's own Redis and
 * logic StatefulSets run by the real StatefulSet controller (pods placed by the agent's binder
 * and by the real kube-scheduler) on a control plane of its own. The pure parts (env
 * resolution, mount rewriting, the phase rule, runtime argv, probe parsing, addresses, pod DNS)
 * are tested first.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ImGroupCluster } from '../../../operator/api/v1alpha1.js';
import { desiredAuthSecret, newAuthSecretValues } from '../../../operator/desired/auth-secret.js';
import { desiredLogicStatefulSet } from '../../../operator/desired/logic-statefulset.js';
import { LOGIC_OPS_PORT } from '../../../operator/desired/ports.js';
import { desiredRedisStatefulSet } from '../../../operator/desired/redis-statefulset.js';
import { RedisClusterAdmin } from '../../../runtime/redis-cluster/cluster-admin.js';
import { MERGE_PATCH } from '../../support/node-agent/agent-api.js';
import { type EnvSources, resolveContainerEnv } from '../../support/node-agent/container-env.js';
import type { ContainerStatusJson } from '../../support/node-agent/container-runner.js';
import { LoopbackAllocator } from '../../support/node-agent/address-allocator.js';
import { MountTable } from '../../support/node-agent/mount-table.js';
import { type ContainerRuntime, NodeAgent, imageName, imgroupRuntime, kubernetesServiceEnv, podDnsNatMap, redisRuntime, resolvePodHost, startStatefulSetControlPlane } from '../../support/node-agent/index.js';
import { podPhase } from '../../support/node-agent/pod-status.js';
import { redisCliPing } from '../../support/node-agent/probes.js';
import { parseQuantity } from '../../support/node-agent/quantity.js';
import type { TestControlPlane } from '../../support/control-plane.js';
import { createNamespace, eventually, type KubeClients, kubeClients, quietLogger } from '../../support/operator-fixture.js';

// ---------------------------------------------------------------------------------------------
// Pure parts

describe('node agent: pure parts', () => {
  const pod: V1Pod = {
    metadata: { name: 'p-0', namespace: 'ns1', uid: 'u-1', labels: { app: 'x', tier: 'db' }, annotations: { note: 'hi' } },
    spec: { nodeName: 'node-a', serviceAccountName: 'sa', containers: [] },
  };
  const sources: EnvSources = {
    secret: async (_ns, name) => (name === 's' ? { data: { pw: Buffer.from('sécret').toString('base64'), 'bad key': 'eA==' } } : null),
    configMap: async (_ns, name) => (name === 'c' ? { data: { mode: 'fast', OTHER: 'o' } } : null),
  };
  const addresses = { podIP: '127.0.0.9', hostIP: '127.0.0.1' };
  const allocatable = { cpu: '8', memory: '16Gi', 'ephemeral-storage': '100Gi' };

  it('resolves env like the kubelet: fieldRef, secret, configMap, envFrom, resources, $(VAR) to earlier vars', async () => {
    const env = await resolveContainerEnv(
      pod,
      {
        name: 'c',
        resources: { limits: { memory: '256Mi' }, requests: { cpu: '250m' } },
        envFrom: [{ configMapRef: { name: 'c' }, prefix: 'CM_' }, { secretRef: { name: 's' } }],
        env: [
          { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
          { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'TIER', valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } },
          { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
          { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'c', key: 'mode' } } },
          { name: 'MISSING', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } },
          { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
          { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
          { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
          { name: 'ID', value: '$(NAME).$(NS)@$(NODE) $(LATER) $$(NAME)' },
          { name: 'LATER', value: 'late' },
        ],
      },
      addresses,
      sources,
      allocatable,
    );
    expect(env).toEqual({
      CM_mode: 'fast',
      CM_OTHER: 'o',
      pw: 'sécret',
      NAME: 'p-0',
      NS: 'ns1',
      IP: '127.0.0.9',
      HOST: '127.0.0.1',
      NODE: 'node-a',
      TIER: 'db',
      PW: 'sécret',
      MODE: 'fast',
      MEM: '256',
      CPU: '250',
      CPU_LIMIT: '8',
      ID: 'p-0.ns1@node-a $(LATER) $(NAME)',
      LATER: 'late',
    });
  });

  it.each([
    ['a missing secret', { name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }, /secret "nope" not found/],
    ['a missing secret key', { name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }, /couldn't find key k in Secret ns1\/s/],
    ['a missing configmap', { name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }, /configmap "nope" not found/],
    ['a missing configmap key', { name: 'X', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }, /couldn't find key k in ConfigMap ns1\/c/],
    ['an unsupported fieldRef', { name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.hostname' } } }, /unsupported fieldRef/],
    ['an unsupported resource', { name: 'X', valueFrom: { resourceFieldRef: { resource: 'limits.gpu' } } }, /unsupported resourceFieldRef/],
  ])('refuses %s with a ContainerConfigError', async (_what, envVar, message) => {
    await expect(resolveContainerEnv(pod, { name: 'c', env: [envVar] }, addresses, sources, allocatable)).rejects.toThrow(message);
  });

  it.each([
    ['/data', '/host/claim'],
    ['/data/nodes.conf', '/host/claim/nodes.conf'],
    ['--dir=/data', '--dir=/host/claim'],
    ['/database', '/database'],
    ['/etc/conf/a/b', '/host/conf/sub/b'],
    ['/etc/conf', '/host/conf'],
    ['/tmp/x', '/host/tmp/x'],
    ['relative/data', 'relative/data'],
    ['a=b=/data/x', 'a=b=/data/x'],
  ])('rewrites mount paths: %s → %s', (value, expected) => {
    const table = new MountTable([
      { mountPath: '/data/', hostPath: '/host/claim' },
      { mountPath: '/etc/conf', hostPath: '/host/conf' },
      { mountPath: '/etc/conf/a', hostPath: '/host/conf/sub' },
      { mountPath: '/tmp', hostPath: '/host/tmp' },
    ]);
    expect(table.rewrite(value)).toBe(expected);
  });

  const c = (state: Record<string, unknown>, lastState: Record<string, unknown> = {}): ContainerStatusJson => ({ name: 'c', image: 'i', imageID: 'i', ready: false, started: false, restartCount: 0, state, lastState });
  const running = c({ running: {} });
  const creating = c({ waiting: { reason: 'ContainerCreating' } });
  const crashLoop = c({ waiting: { reason: 'CrashLoopBackOff' } }, { terminated: { exitCode: 1 } });
  const ok = c({ terminated: { exitCode: 0 } });
  const failed = c({ terminated: { exitCode: 1 } });
  it.each([
    ['Always', [creating], 'Pending'],
    ['Always', [running, creating], 'Pending'],
    ['Always', [running], 'Running'],
    ['Always', [crashLoop], 'Running'],
    ['Always', [ok], 'Running'],
    ['Never', [ok], 'Succeeded'],
    ['Never', [ok, failed], 'Failed'],
    ['OnFailure', [failed], 'Running'],
    ['OnFailure', [ok, ok], 'Succeeded'],
    ['Never', [running, failed], 'Running'],
  ] as const)('phase with restartPolicy %s and containers %j is %s', (policy, containers, phase) => {
    expect(podPhase(policy, containers)).toBe(phase);
  });

  it.each([
    [{ args: ['--port', '7000'] }, 'redis-server', ['--port', '7000']],
    [{}, 'redis-server', []],
    [{ args: ['/etc/redis.conf'] }, 'redis-server', ['/etc/redis.conf']],
    [{ args: ['redis-server', '--port', '1'] }, 'redis-server', ['--port', '1']],
    [{ command: ['redis-server'], args: ['--port', '1'] }, 'redis-server', ['--port', '1']],
    [{ command: ['redis-cli', 'ping'] }, 'redis-cli', ['ping']],
    [{ command: ['sh', '-c', 'redis-server'] }, 'sh', ['-c', 'redis-server']],
  ])('redis runtime: %j runs %s %j', (container, command, args) => {
    const launch = redisRuntime().launch({ pod, container: { name: 'r', ...container }, podIP: '127.0.0.9', env: {}, command: (container as { command?: string[] }).command, args: (container as { args?: string[] }).args });
    expect([launch.command, launch.args]).toEqual([command, args]);
    expect(launch.ipcLifeline).toBeFalsy();
  });

  it('matches images by name and runs imgroup images with node, a lifeline and the pod IP as listen address', () => {
    expect(['redis:7.2', 'docker.io/library/redis@sha256:ab', 'bitnami/redis-cluster:7', 'ghcr.io/imgroup/imgroup:0.1.0', 'myredis:1'].map(imageName)).toEqual(['redis', 'redis', 'redis-cluster', 'imgroup', 'myredis']);
    expect(redisRuntime().matches('registry:5000/redis:7.2')).toBe(true);
    expect(redisRuntime().matches('myredis:1')).toBe(false);
    const launch = imgroupRuntime({ bin: '/x/bin/imgroup.js' }).launch({ pod, container: { name: 'gate' }, podIP: '127.0.0.9', env: {}, command: undefined, args: ['gate'] });
    expect(launch.command).toBe(process.execPath);
    expect(launch.args).toEqual(['/x/bin/imgroup.js', 'gate']);
    expect(launch.ipcLifeline).toBe(true);
    expect(launch.podDns).toBe(true);
    expect(launch.env).toMatchObject({ IMGROUP_GATE_HOST: '127.0.0.9', IMGROUP_LOGIC_HOST: '127.0.0.9', IMGROUP_OPS_HOST: '127.0.0.9', IMGROUP_MODE: 'production' });
  });

  it('tells an imgroup process where its ServiceAccount volume is (IMGROUP_SERVICE_ACCOUNT_DIR), only when one is mounted', () => {
    const mounts = new MountTable([{ mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', hostPath: '/agent/pods/p/volumes/kube-api-access-x1' }]);
    const run = (hostPathOf?: (p: string) => string | null) =>
      imgroupRuntime({ bin: '/x/bin/imgroup.js' }).launch({ pod, container: { name: 'operator' }, podIP: '127.0.0.9', env: {}, command: undefined, args: ['operator'], ...(hostPathOf ? { hostPathOf } : {}) });
    expect(run((p) => mounts.hostPathOf(p)).env?.IMGROUP_SERVICE_ACCOUNT_DIR).toBe('/agent/pods/p/volumes/kube-api-access-x1');
    expect(run(() => null).env).not.toHaveProperty('IMGROUP_SERVICE_ACCOUNT_DIR');
    expect(run().env).not.toHaveProperty('IMGROUP_SERVICE_ACCOUNT_DIR');
  });

  it("gives every container the kubelet's `kubernetes` Service variables, naming the API server itself", () => {
    expect(kubernetesServiceEnv('https://127.0.0.1:16443')).toEqual({
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: '16443',
      KUBERNETES_SERVICE_PORT_HTTPS: '16443',
      KUBERNETES_PORT: 'tcp://127.0.0.1:16443',
      KUBERNETES_PORT_16443_TCP: 'tcp://127.0.0.1:16443',
      KUBERNETES_PORT_16443_TCP_PROTO: 'tcp',
      KUBERNETES_PORT_16443_TCP_PORT: '16443',
      KUBERNETES_PORT_16443_TCP_ADDR: '127.0.0.1',
    });
    expect(kubernetesServiceEnv('https://[::1]:6443')).toMatchObject({ KUBERNETES_SERVICE_HOST: '::1', KUBERNETES_PORT: 'tcp://[::1]:6443' });
  });

  it.each([
    [['redis-cli', 'ping'], { port: 6379, password: 'envpw' }],
    [['redis-cli', '-p', '7000', '-a', 'pw', 'PING'], { port: 7000, password: 'pw' }],
    [['sh', '-c', 'redis-cli -a "$REDIS_PASSWORD" ping | grep PONG'], { port: 6379, password: 'from-env' }],
    [['redis-cli', 'info'], null],
    [['cat', '/tmp/healthy'], null],
  ])('exec probe %j is approximated as %j', (command, expected) => {
    expect(redisCliPing(command, { env: { REDISCLI_AUTH: 'envpw', REDIS_PASSWORD: 'from-env' } })).toEqual(expected);
  });

  it('resolves pod DNS names under their headless Service, for one agent or several', () => {
    const pods = [
      { namespace: 'a', name: 'chat-redis-0', hostname: 'chat-redis-0', subdomain: 'chat-redis', ip: '127.0.0.5' },
      { namespace: 'b', name: 'chat-redis-0', hostname: 'chat-redis-0', subdomain: 'chat-redis', ip: '127.0.0.6' },
      { namespace: 'a', name: 'loner', hostname: undefined, subdomain: undefined, ip: '127.0.0.7' },
    ];
    expect(resolvePodHost('chat-redis-0.chat-redis.a.svc', pods)).toBe('127.0.0.5');
    expect(resolvePodHost('chat-redis-0.chat-redis.b.svc.cluster.local', pods)).toBe('127.0.0.6');
    expect(resolvePodHost('chat-redis-0.other.a.svc', pods)).toBeNull();
    expect(resolvePodHost('loner.a.svc', pods)).toBeNull();
    expect(resolvePodHost('127.0.0.5', pods)).toBeNull();
    const natMap = podDnsNatMap({ resolve: () => null }, { resolve: (h) => resolvePodHost(h, pods) });
    expect(natMap('chat-redis-0.chat-redis.b.svc:6379')).toEqual({ host: '127.0.0.6', port: 6379 });
    expect(natMap('127.0.0.9:6379')).toBeNull();
  });

  it.each([
    ['500m', 0.5],
    ['2', 2],
    ['256Mi', 268435456],
    ['1G', 1e9],
    ['1e3', 1000],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['12x', null],
    ['', null],
  ])('quantity %s is %s', (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });

  it('allocates distinct loopback addresses round-robin, never one that is avoided, and frees them', async () => {
    const lockDir = mkdtempSync(join(tmpdir(), 'agent-locks-'));
    const allocator = new LoopbackAllocator({ first: 200, last: 203, lockDir });
    const a = await allocator.allocate({ pod: 'a', ports: [] });
    const b = await allocator.allocate({ pod: 'b', ports: [], avoid: [a] });
    expect(b).not.toBe(a);
    const c2 = await allocator.allocate({ pod: 'c', ports: [] });
    const d = await allocator.allocate({ pod: 'd', ports: [] });
    expect(new Set([a, b, c2, d]).size).toBe(4);
    await expect(allocator.allocate({ pod: 'e', ports: [] })).rejects.toThrow(/no free loopback address/);
    allocator.release(b);
    expect(await allocator.allocate({ pod: 'e', ports: [] })).toBe(b);
    for (const ip of allocator.inUse) allocator.release(ip);
    expect(readdirSync(lockDir)).toEqual([]);
    rmSync(lockDir, { recursive: true, force: true });
  });
});

// ---------------------------------------------------------------------------------------------
// Against the run's control plane

const LABEL = { 'test.imgroup.dev/agent': 'yes' };

function redisPodSpec(extra: Partial<V1PodSpec['containers'][number]> & { args: string[] }, podExtra: Partial<V1PodSpec> = {}): V1PodSpec {
  return {
    terminationGracePeriodSeconds: 5,
    ...podExtra,
    containers: [
      {
        name: 'redis',
        image: 'redis:7.2',
        ports: [{ name: 'redis', containerPort: 6379 }],
        readinessProbe: { tcpSocket: { port: 'redis' }, periodSeconds: 5 },
        ...extra,
        env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, ...(extra.env ?? [])],
      },
    ],
  };
}

function isReady(pod: V1Pod | null): boolean {
  return (pod?.status?.conditions ?? []).some((cond) => cond.type === 'Ready' && cond.status === 'True');
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function redisAt(host: string, password?: string): Promise<Redis> {
  const r = new Redis({ host, port: 6379, password, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000, retryStrategy: () => null });
  r.on('error', () => undefined);
  await r.connect();
  return r;
}

/** `node:*` images → `node <args>` with pod DNS (as the imgroup runtime has it). */
const nodeScriptRuntime: ContainerRuntime = {
  name: 'node-script',
  matches: (image) => imageName(image) === 'node',
  launch: (ctx) => ({ command: process.execPath, args: ctx.args ?? [], podDns: true }),
};

describe('node agent on the real API server', () => {
  let k: KubeClients;
  let ns: string;
  let agent: NodeAgent;
  const pidsSeen = new Set<number>();

  const readPod = async (name: string): Promise<V1Pod | null> => {
    try {
      return await k.core.readNamespacedPod({ namespace: ns, name });
    } catch {
      return null;
    }
  };
  const waitReady = async (name: string): Promise<V1Pod> => {
    await eventually(`pod ${name} Ready`, async () => isReady(await readPod(name)), 30_000);
    const pod = (await readPod(name)) as V1Pod;
    for (const c of agent.pod(name)?.containers ?? []) if (c.pid) pidsSeen.add(c.pid);
    return pod;
  };
  const createPod = (name: string, spec: V1PodSpec) => k.core.createNamespacedPod({ namespace: ns, body: { metadata: { name, labels: LABEL }, spec } });

  beforeAll(async () => {
    k = kubeClients(inject('kubeconfig'));
    ns = await createNamespace(k, 'agent');
    agent = new NodeAgent({
      kubeconfig: k.kc,
      runtimes: [redisRuntime(), imgroupRuntime(), nodeScriptRuntime],
      bind: { namespace: ns, labelSelector: 'test.imgroup.dev/agent=yes' },
      probePeriodCapMs: 500,
      restartBackoff: { initialMs: 200, maxMs: 2000 },
      log: quietLogger(),
    });
    await agent.start();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop({ graceMs: 2000 });
    // Every process the agent ever ran is gone with it, and so are its Node and the pods bound to it.
    for (const pid of pidsSeen) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect((await k.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${agent.nodeName}` })).items).toEqual([]);
    await expect(k.core.readNode({ name: agent.nodeName })).rejects.toMatchObject({ code: 404 });
    await k?.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('registers a Ready Node with a Lease in kube-node-lease', async () => {
    const node = await k.core.readNode({ name: agent.nodeName });
    expect(node.status?.conditions?.find((cond) => cond.type === 'Ready')?.status).toBe('True');
    expect(node.spec?.taints ?? []).toEqual([]);
    expect(node.status?.allocatable?.pods).toBe('110');
    const lease = await k.coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: agent.nodeName });
    expect(lease.spec?.holderIdentity).toBe(agent.nodeName);
    expect(lease.metadata?.ownerReferences?.[0]?.uid).toBe(node.metadata?.uid);
  });

  it('binds a matching pod and runs it as a Ready, PING-able redis-server on its own 127.0.0.<x>', async () => {
    await createPod('plain', redisPodSpec({ args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', ''] }));
    const pod = await waitReady('plain');
    const ip = pod.status?.podIP ?? '';
    expect(pod.spec?.nodeName).toBe(agent.nodeName);
    expect(ip).toMatch(/^127\.0\.0\.(\d+)$/);
    expect(Number(ip.split('.')[3])).toBeGreaterThanOrEqual(2);
    expect(pod.status?.podIPs).toEqual([{ ip }]);
    expect(pod.status?.hostIP).toBe('127.0.0.1');
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.startTime).toBeDefined();
    expect(Object.fromEntries((pod.status?.conditions ?? []).map((cond) => [cond.type, cond.status]))).toMatchObject({ PodScheduled: 'True', Initialized: 'True', ContainersReady: 'True', Ready: 'True' });
    const cs = pod.status?.containerStatuses?.[0];
    expect(cs).toMatchObject({ name: 'redis', ready: true, started: true, restartCount: 0 });
    expect(cs?.state?.running?.startedAt).toBeDefined();
    expect(agent.podIP('plain')).toBe(ip);
    const r = await redisAt(ip);
    expect(await r.ping()).toBe('PONG');
    r.disconnect();
    // Not on 127.0.0.1: the pod's own address only.
    const other = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, retryStrategy: () => null, connectTimeout: 1000 });
    other.on('error', () => undefined);
    await expect(other.connect()).rejects.toThrow();
    other.disconnect();
  });

  it('leaves pods the selector does not match alone', async () => {
    await k.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'unmatched' }, spec: redisPodSpec({ args: ['--port', '6379'] }) } });
    // A matching pod created after it: once the agent runs that one, it has seen the unmatched one.
    await createPod('matched-after', redisPodSpec({ args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', ''] }));
    await waitReady('matched-after');
    const pod = await readPod('unmatched');
    expect(pod?.spec?.nodeName).toBeUndefined();
    expect(agent.pod('unmatched')).toBeNull();
  });

  it('expands env from fieldRef, Secret and ConfigMap, $(VAR) in args, and rewrites mount paths to host directories', async () => {
    await createPod(
      'env',
      redisPodSpec(
        {
          args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', '', '--requirepass', '$(PASSWORD)', '--masteruser', '$(IDENT)', '--dir', '/data', '--include', '/etc/extra/extra.conf'],
          env: [
            { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'password' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'FLAVOUR', valueFrom: { configMapKeyRef: { name: 'env-config', key: 'flavour' } } },
            { name: 'IDENT', value: '$(POD_NAME).$(POD_NS)@$(NODE)/$(FLAVOUR)/$(POD_IP)' },
          ],
          volumeMounts: [
            { name: 'scratch', mountPath: '/data' },
            { name: 'extra', mountPath: '/etc/extra' },
          ],
        },
        { volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'extra', configMap: { name: 'env-config', items: [{ key: 'extra.conf', path: 'extra.conf' }] } }] },
      ),
    );
    // Kubelet behaviour: the Secret does not exist yet, so the container waits with CreateContainerConfigError.
    await eventually('CreateContainerConfigError shown', async () => {
      const waiting = (await readPod('env'))?.status?.containerStatuses?.[0]?.state?.waiting;
      return waiting?.reason === 'CreateContainerConfigError' || waiting?.reason === 'ContainerCreating';
    });
    expect((await readPod('env'))?.status?.phase).toBe('Pending');
    await k.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'env-config' }, data: { flavour: 'vanilla', 'extra.conf': 'maxmemory-policy allkeys-lru\n' } } });
    await k.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'env-secret' }, stringData: { password: 'p@ss w0rd' } } });
    const pod = await waitReady('env');
    const ip = pod.status?.podIP ?? '';
    const r = await redisAt(ip, 'p@ss w0rd');
    expect(await r.call('CONFIG', 'GET', 'masteruser')).toEqual(['masteruser', `env.${ns}@${agent.nodeName}/vanilla/${ip}`]);
    expect(await r.call('CONFIG', 'GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
    const [, dir] = (await r.call('CONFIG', 'GET', 'dir')) as [string, string];
    expect(dir.startsWith(agent.dataDir)).toBe(true);
    expect(dir).toBe(agent.pod('env')?.volumes.scratch);
    expect(existsSync(dir)).toBe(true);
    r.disconnect();
    // configMap volumes follow their ConfigMap (the agent re-reads it periodically).
    const file = join(agent.pod('env')?.volumes.extra ?? '/nonexistent', 'extra.conf');
    expect(readFileSync(file, 'utf8')).toBe('maxmemory-policy allkeys-lru\n');
    await k.core.patchNamespacedConfigMap({ namespace: ns, name: 'env-config', body: { data: { 'extra.conf': 'maxmemory-policy noeviction\n' } } }, MERGE_PATCH);
    await eventually('configMap file updated', async () => readFileSync(file, 'utf8') === 'maxmemory-policy noeviction\n', 15_000);
  });

  it('deletes like a kubelet: SIGTERM, the process gone, then the Pod gone from the API', async () => {
    await createPod('doomed', redisPodSpec({ args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', ''] }));
    await waitReady('doomed');
    const pid = agent.pod('doomed')?.containers[0]?.pid;
    const logFile = agent.pod('doomed')?.containers[0]?.logFile ?? '';
    expect(alive(pid)).toBe(true);
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'doomed' });
    await eventually('pod gone from the API', async () => (await readPod('doomed')) === null, 30_000);
    expect(alive(pid)).toBe(false);
    // Asked to stop, not killed: redis-server logs its SIGTERM shutdown.
    expect(readFileSync(logFile, 'utf8')).toMatch(/Received SIGTERM scheduling shutdown/);
    await eventually('agent forgot the pod', async () => agent.pod('doomed') === null);
  });

  it('SIGKILLs a process that ignores SIGTERM once the grace period is over, then deletes the pod', async () => {
    await createPod('stubborn', {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'shell', image: 'redis:7.2', command: ['sh', '-c', 'trap "" TERM; echo trapped; while true; do sleep 0.2; done'] }],
    });
    await waitReady('stubborn');
    const pid = agent.pod('stubborn')?.containers[0]?.pid;
    await eventually('trap installed', async () => agent.logTail('stubborn').includes('trapped'));
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'stubborn' });
    await eventually('pod gone from the API', async () => (await readPod('stubborn')) === null, 30_000);
    expect(alive(pid)).toBe(false);
  });

  it('stops the processes of a pod that disappears from the API (force deletion)', async () => {
    await createPod('vanishing', redisPodSpec({ args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', ''] }));
    await waitReady('vanishing');
    const pid = agent.pod('vanishing')?.containers[0]?.pid;
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'vanishing', gracePeriodSeconds: 0 });
    expect(await readPod('vanishing')).toBeNull();
    await eventually('process stopped', async () => !alive(pid), 15_000);
    await eventually('agent forgot the pod', async () => agent.pod('vanishing') === null);
  });

  it('holdDown keeps a pod down (not Ready, no restart) until bringUp, here on a new address', async () => {
    await createPod('outage', redisPodSpec({ args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', ''] }));
    await createPod('outage-control', redisPodSpec({ args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', ''] }));
    const before = await waitReady('outage');
    await waitReady('outage-control');
    await agent.holdDown('outage', { graceMs: 0 });
    await agent.kill('outage-control', 'SIGKILL');
    await eventually('not Ready', async () => !isReady(await readPod('outage')));
    // The control pod, killed at the same time and not held, is restarted: the held one would have been by now.
    await eventually('the control pod restarted and Ready', async () => {
      const p = await readPod('outage-control');
      return isReady(p) && p?.status?.containerStatuses?.[0]?.restartCount === 1;
    }, 30_000);
    expect(isReady(await readPod('outage'))).toBe(false);
    expect((await readPod('outage'))?.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    expect(agent.pod('outage')?.containers[0]?.running).toBe(false);
    await expect(redisAt(before.status?.podIP ?? '')).rejects.toThrow();
    await agent.bringUp('outage', { newAddress: true });
    const after = await waitReady('outage');
    expect(after.status?.podIP).not.toBe(before.status?.podIP);
    expect(after.status?.containerStatuses?.[0]?.restartCount).toBe(1);
    const r = await redisAt(after.status?.podIP ?? '');
    expect(await r.ping()).toBe('PONG');
    r.disconnect();
  });

  it('restarts a crashed container (restartCount 1, lastState terminated by SIGKILL) and it is Ready again', async () => {
    await createPod('crashy', redisPodSpec({ args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', ''] }));
    const before = await waitReady('crashy');
    const pid = agent.pod('crashy')?.containers[0]?.pid;
    const [exit] = await agent.kill('crashy', 'SIGKILL');
    expect(exit?.signal).toBe('SIGKILL');
    await eventually('restarted and Ready', async () => {
      const p = await readPod('crashy');
      return isReady(p) && p?.status?.containerStatuses?.[0]?.restartCount === 1;
    }, 30_000);
    const after = (await waitReady('crashy')).status;
    expect(after?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(after?.podIP).toBe(before.status?.podIP);
    expect(agent.pod('crashy')?.containers[0]?.pid).not.toBe(pid);
    const r = await redisAt(after?.podIP ?? '');
    expect(await r.ping()).toBe('PONG');
    r.disconnect();
  });

  it('pause freezes a pod (a redis-cli ping liveness probe fails and the kubelet restarts it); resume thaws', async () => {
    await createPod(
      'frozen',
      redisPodSpec({
        args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', ''],
        livenessProbe: { exec: { command: ['redis-cli', 'ping'] }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 3 },
      }),
    );
    const pod = await waitReady('frozen');
    const r = await redisAt(pod.status?.podIP ?? '');
    agent.pause('frozen');
    await expect(r.ping()).rejects.toThrow();
    await eventually('liveness restart', async () => (await readPod('frozen'))?.status?.containerStatuses?.[0]?.restartCount === 1, 30_000);
    await waitReady('frozen');
    r.disconnect();
    const r2 = await redisAt(pod.status?.podIP ?? '');
    expect(await r2.ping()).toBe('PONG');
    agent.pause('frozen');
    agent.resume('frozen');
    expect(await r2.ping()).toBe('PONG');
    r2.disconnect();
  });

  it('restartAll with new addresses: every pod on a new 127.0.0.<x>, status.podIP follows, the claim (appendonly) keeps its keys', async () => {
    await k.core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: { metadata: { name: 'keep' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } });
    await createPod(
      'durable',
      redisPodSpec(
        { args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', '/data'], volumeMounts: [{ name: 'data', mountPath: '/data' }] },
        { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'keep' } }] },
      ),
    );
    const before = await waitReady('durable');
    const ips = new Map(agent.pods().map((p) => [p.name, p.ip]));
    const r = await redisAt(before.status?.podIP ?? '');
    await r.set('survivor', 'still here');
    r.disconnect();
    await agent.restartAll({ newAddresses: true });
    for (const p of agent.pods()) {
      expect(p.ip, p.name).not.toBe(ips.get(p.name));
      expect(p.containers[0]?.restartCount).toBeGreaterThanOrEqual(1);
    }
    const after = await waitReady('durable');
    await eventually('status.podIP follows', async () => (await readPod('durable'))?.status?.podIP === agent.podIP('durable'));
    expect(after.status?.podIP).not.toBe(before.status?.podIP);
    const r2 = await redisAt(agent.podIP('durable') ?? '');
    expect(await r2.get('survivor')).toBe('still here');
    r2.disconnect();
    // The old address answers no more.
    await expect(redisAt(before.status?.podIP ?? '')).rejects.toThrow();
  });

  it('lets node programs resolve pod names under a headless Service (and nothing else under .svc)', async () => {
    await createPod('named', redisPodSpec({ args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', ''] }, { hostname: 'named', subdomain: 'redis-hl' }));
    const named = await waitReady('named');
    const script = `const dns = require('node:dns');
      dns.lookup('named.redis-hl.${ns}.svc', (e, a) => console.log('resolved', e ? e.code : a));
      dns.promises.lookup('named.redis-hl.${ns}.svc.cluster.local').then((r) => console.log('promised', r.address));
      dns.lookup('nobody.redis-hl.${ns}.svc', (e) => console.log('missing', e && e.code));`;
    await createPod('resolver', { restartPolicy: 'Never', containers: [{ name: 'node', image: 'node:20', args: ['-e', script] }] });
    await eventually('resolver done', async () => (await readPod('resolver'))?.status?.phase === 'Succeeded', 30_000);
    const log = agent.logTail('resolver');
    expect(log).toContain(`resolved ${named.status?.podIP}`);
    expect(log).toContain(`promised ${named.status?.podIP}`);
    expect(log).toContain('missing ENOTFOUND');
  });

  it('runs an imgroup image with node bin/imgroup.js: a one-shot pod (restartPolicy Never) Succeeds', async () => {
    await createPod('oneshot', { restartPolicy: 'Never', containers: [{ name: 'imgroup', image: 'ghcr.io/imgroup/imgroup:0.1.0', args: ['config-table'] }] });
    await eventually('Succeeded', async () => (await readPod('oneshot'))?.status?.phase === 'Succeeded', 30_000);
    const cs = (await readPod('oneshot'))?.status?.containerStatuses?.[0];
    expect(cs?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(agent.logTail('oneshot', { lines: 200 })).toMatch(/IMGROUP_/);
  });
});

// ---------------------------------------------------------------------------------------------
// The operator's Redis StatefulSet, run by the real StatefulSet controller

describe('node agent with the StatefulSet controller and kube-scheduler (control plane of its own)', () => {
  let cp: TestControlPlane;
  let k: KubeClients;
  let ns: string;
  let agent: NodeAgent;
  const pidsSeen = new Set<number>();

  beforeAll(async () => {
    cp = await startStatefulSetControlPlane({ scheduler: true });
    k = kubeClients(cp.kubeconfigPath);
    ns = await createNamespace(k, 'sts');
    agent = new NodeAgent({
      kubeconfig: k.kc,
      runtimes: [redisRuntime(), imgroupRuntime()],
      bind: { namespace: ns, labelSelector: 'app.kubernetes.io/component=redis' },
      probePeriodCapMs: 500,
      maxTerminationGraceMs: 5000,
      log: quietLogger(),
    });
    await agent.start();
  }, 300_000);

  afterAll(async () => {
    await agent?.stop({ graceMs: 2000 });
    for (const pid of pidsSeen) expect(alive(pid), `pid ${pid}`).toBe(false);
    await cp?.stop();
  });

  it('is a Node the real kube-scheduler places pods on (no binding by the agent)', async () => {
    await k.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'scheduled', labels: { test: 'scheduler' } }, spec: redisPodSpec({ args: ['--port', '6379', '--bind', '$(POD_IP)', '--save', ''], resources: { requests: { cpu: '100m', memory: '64Mi' } } }) },
    });
    await eventually('scheduled onto the agent and Ready', async () => {
      const pod = await k.core.readNamespacedPod({ namespace: ns, name: 'scheduled' });
      return pod.spec?.nodeName === agent.nodeName && isReady(pod);
    }, 60_000);
    pidsSeen.add(agent.pod('scheduled')?.containers[0]?.pid as number);
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'scheduled' });
    await eventually('deleted', async () => agent.pod('scheduled') === null, 30_000);
  });

  it("runs the operator's Redis StatefulSet (3 Ready cluster-mode pods) and logic pod; scale to 1 stops and deletes the two highest ordinals", async () => {
    const cluster: ImGroupCluster = { apiVersion: 'imgroup.dev/v1alpha1', kind: 'ImGroupCluster', metadata: { name: 'chat', namespace: ns, uid: 'not-in-this-api' }, spec: { redis: { masters: 3, replicasPerMaster: 0 } } };
    const values = newAuthSecretValues(randomBytes);
    const secret = desiredAuthSecret(cluster, values);
    const sts = desiredRedisStatefulSet(cluster, { replicas: 3 });
    // The owner is not in this API server: without the reference the garbage collector leaves them alone.
    for (const meta of [secret.metadata, sts.metadata]) if (meta) meta.ownerReferences = [];
    await k.core.createNamespacedSecret({ namespace: ns, body: secret });
    await k.apps.createNamespacedStatefulSet({ namespace: ns, body: sts });

    const pods = async () => (await k.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=redis' })).items;
    await eventually('3 Ready redis pods', async () => (await pods()).filter((p) => isReady(p)).length === 3, 90_000);
    const byName = new Map((await pods()).map((p) => [p.metadata?.name ?? '', p]));
    expect([...byName.keys()].sort()).toEqual(['chat-redis-0', 'chat-redis-1', 'chat-redis-2']);
    const claims = (await k.core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.map((c) => c.metadata?.name).sort();
    expect(claims).toEqual(['data-chat-redis-0', 'data-chat-redis-1', 'data-chat-redis-2']);
    const pids = new Map<string, number | undefined>();
    for (const [name, pod] of byName) {
      const ip = pod.status?.podIP ?? '';
      pids.set(name, agent.pod(name)?.containers[0]?.pid);
      pidsSeen.add(pids.get(name) as number);
      // The pod spec's redis-server: cluster mode, bound to the pod IP, password from the Secret, /data on the claim.
      const r = await redisAt(ip, values.redisPassword);
      expect(await r.ping()).toBe('PONG');
      expect(await r.call('CONFIG', 'GET', 'cluster-announce-ip')).toEqual(['cluster-announce-ip', ip]);
      expect(await r.call('CONFIG', 'GET', 'cluster-announce-hostname')).toEqual(['cluster-announce-hostname', `${name}.chat-redis.${ns}.svc`]);
      const [, dir] = (await r.call('CONFIG', 'GET', 'dir')) as [string, string];
      expect(dir).toContain(`/claims/${ns}/data-${name}/`);
      expect(existsSync(`${dir}/nodes.conf`)).toBe(true);
      r.disconnect();
      // The headless-Service name resolves to the pod for clients (ioredis natMap).
      expect(agent.resolve(`${name}.chat-redis.${ns}.svc`)).toBe(ip);
      expect(agent.natMap()(`${name}.chat-redis.${ns}.svc:6379`)).toEqual({ host: ip, port: 6379 });
    }

    // The operator's logic pod runs too: `node bin/imgroup.js logic`, Redis seeds by pod DNS name,
    // secrets from the Secret, ready by its httpGet /readyz probe once the Redis Cluster is formed.
    const admin = new RedisClusterAdmin({ password: values.redisPassword });
    try {
      await admin.formCluster({ masters: [0, 1, 2].map((i) => ({ host: byName.get(`chat-redis-${i}`)?.status?.podIP ?? '', port: 6379 })) });
    } finally {
      await admin.close();
    }
    const logic = desiredLogicStatefulSet({ ...cluster, spec: { ...cluster.spec, logic: { replicas: 1 } } });
    if (logic.metadata) logic.metadata.ownerReferences = [];
    await k.apps.createNamespacedStatefulSet({ namespace: ns, body: logic });
    await eventually('chat-logic-0 Ready (placed by the scheduler)', async () => isReady(await k.core.readNamespacedPod({ namespace: ns, name: 'chat-logic-0' }).catch(() => null)), 60_000);
    const logicPod = agent.pod('chat-logic-0');
    pidsSeen.add(logicPod?.containers[0]?.pid as number);
    const readyz = await fetch(`http://${logicPod?.ip}:${LOGIC_OPS_PORT}/readyz`);
    expect(readyz.status).toBe(200);
    await k.apps.deleteNamespacedStatefulSet({ namespace: ns, name: 'chat-logic' });
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'chat-logic-0' });
    await eventually('chat-logic-0 gone', async () => agent.pod('chat-logic-0') === null, 30_000);

    await k.apps.patchNamespacedStatefulSetScale({ namespace: ns, name: 'chat-redis', body: { spec: { replicas: 1 } } }, MERGE_PATCH);
    await eventually('only chat-redis-0 left', async () => (await pods()).map((p) => p.metadata?.name).join(',') === 'chat-redis-0', 60_000);
    expect(alive(pids.get('chat-redis-1'))).toBe(false);
    expect(alive(pids.get('chat-redis-2'))).toBe(false);
    expect(alive(pids.get('chat-redis-0'))).toBe(true);
    await eventually('agent runs only chat-redis-0', async () => agent.pods().map((p) => p.name).join(',') === 'chat-redis-0');
    // whenScaled: Delete — the claims of the removed ordinals go too (owner reference to the pod, garbage collector).
    await eventually('claims of removed pods deleted', async () => (await k.core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.map((c) => c.metadata?.name).join(',') === 'data-chat-redis-0', 60_000);
  });
});
