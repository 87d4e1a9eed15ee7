/**
 * spec.redis.tls on a real API server: the CRD's rules (TLS can be neither added nor removed on
 * an existing cluster; the Secret's name may change), the Redis StatefulSet the cluster reconciler
 * applies, and the Redis reconciler, which waits for the TLS Secret and hands its ca.crt to the
 * lifecycle engine (a recording test double here; the engine itself runs against real TLS Redis
 * nodes in test/integration/redis/lifecycle-tls.test.ts).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, type ImGroupCluster, PLURAL, VERSION } from '../../../operator/api/v1alpha1.js';
import { createEventRecorder } from '../../../operator/reconcile/event-recorder.js';
import { ClusterReconciler } from '../../../operator/reconcile/cluster-reconciler.js';
import { type RedisAccess, RedisDriver } from '../../../operator/reconcile/redis-driver.js';
import { RedisObservations } from '../../../operator/reconcile/redis-observations.js';
import { RedisReconciler } from '../../../operator/reconcile/redis-reconciler.js';
import type { RedisLifecycleInput, RedisLifecycleResult } from '../../../operator/redis/lifecycle-types.js';
import { createNamespace, createRedisPod, installCrd, type KubeClients, kubeClients, quietLogger, setPodReady } from '../../support/operator-fixture.js';
import { makeTestCa, type TestCa } from '../../support/test-certs.js';

const TLS = { secretRef: { name: 'chat-redis-tls' } };
const spec = (tls?: unknown) => ({ gate: { replicas: 1 }, logic: { replicas: 1 }, redis: { masters: 3, replicasPerMaster: 0, ...(tls ? { tls } : {}) } });

let k: KubeClients;
let ca: TestCa;

beforeAll(async () => {
  k = kubeClients(inject('kubeconfig'));
  await installCrd(k);
  ca = await makeTestCa('operator');
}, 60_000);
afterAll(async () => {
  await ca?.remove();
});

async function create(ns: string, s: unknown): Promise<ImGroupCluster> {
  return (await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'chat' }, spec: s } })) as ImGroupCluster;
}

/** Replace the spec's redis.tls (undefined: remove it); resolves the API server's error, or null. */
async function setTls(ns: string, tls: unknown): Promise<{ code?: number; body?: unknown } | null> {
  const current = (await k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'chat' })) as ImGroupCluster;
  const redis = { ...(current.spec?.redis ?? {}) } as Record<string, unknown>;
  if (tls === undefined) delete redis.tls;
  else redis.tls = tls;
  return k.custom
    .replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'chat', body: { ...current, spec: { ...current.spec, redis } } })
    .then(
      () => null,
      (e: unknown) => e as { code?: number; body?: unknown },
    );
}

describe('the CRD on a real API server', () => {
  it('refuses to add TLS to an existing cluster, naming spec.redis.tls', async () => {
    const ns = await createNamespace(k);
    await create(ns, spec());
    const err = await setTls(ns, TLS);
    expect(err?.code).toBe(422);
    expect(JSON.stringify(err?.body)).toMatch(/spec\.redis\.tls can be neither added nor removed/);
  });

  it('refuses to remove TLS from a cluster created with it, and lets the Secret\'s name change', async () => {
    const ns = await createNamespace(k);
    await create(ns, spec(TLS));
    const removed = await setTls(ns, undefined);
    expect(removed?.code).toBe(422);
    expect(JSON.stringify(removed?.body)).toMatch(/spec\.redis\.tls can be neither added nor removed/);
    expect(await setTls(ns, { secretRef: { name: 'chat-redis-tls-2' } })).toBeNull();
  });

  it('refuses a tls without a Secret name', async () => {
    const ns = await createNamespace(k);
    const err = await create(ns, spec({ secretRef: {} })).then(
      () => null,
      (e: unknown) => e as { code?: number; body?: unknown },
    );
    expect(err?.code).toBe(422);
    expect(JSON.stringify(err?.body)).toContain('spec.redis.tls.secretRef.name');
  });
});

describe('reconciling a cluster with spec.redis.tls', () => {
  const log = quietLogger();
  const accesses: RedisAccess[] = [];
  const inputs: RedisLifecycleInput[] = [];
  // Test double of the lifecycle engine: records what the operator hands it.
  const driver = new RedisDriver((_key, access) => {
    accesses.push(access);
    return {
      step: async (input): Promise<RedisLifecycleResult> => {
        inputs.push(input);
        return {
          state: 'Healthy',
          slotsAssigned: 16384,
          shards: [],
          migration: null,
          statefulSetReplicas: input.statefulSetReplicas,
          actions: [],
          requeueAfterMs: null,
          conditions: { clusterFormed: true, slotsAssigned: true, degraded: false, reason: 'ClusterHealthy', message: 'test double' },
          problems: [],
          unreachable: [],
        };
      },
      close: async () => undefined,
    };
  });

  it('applies N-redis with the Secret mounted, waits for the Secret, then hands its ca.crt and the pods\' DNS names to the engine', async () => {
    const ns = await createNamespace(k);
    await create(ns, spec(TLS));
    const events = createEventRecorder({ core: k.core, log });
    const cluster = new ClusterReconciler({ objects: k.objects, core: k.core, custom: k.custom, log, events });
    const redis = new RedisReconciler({ objects: k.objects, core: k.core, custom: k.custom, log, events, driver, observations: new RedisObservations() });
    await cluster.reconcile(ns, 'chat');

    const sts = await k.apps.readNamespacedStatefulSet({ namespace: ns, name: 'chat-redis' });
    const pod = sts.spec?.template.spec;
    expect(pod?.volumes?.find((v) => v.name === 'redis-tls')?.secret?.secretName).toBe('chat-redis-tls');
    expect(pod?.containers[0]?.args).toEqual(expect.arrayContaining(['--tls-port', '--tls-cluster', '--tls-replication']));

    for (let i = 0; i < 3; i++) {
      await createRedisPod(k, ns, 'chat', i);
      await setPodReady(k, ns, `chat-redis-${i}`, `10.1.0.${i + 1}`, true);
    }
    const waiting = await redis.reconcile(ns, 'chat');
    expect(waiting.observation).toMatchObject({ kind: 'waiting', for: 'tls-secret' });
    expect(accesses).toHaveLength(0);

    await k.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'chat-redis-tls' }, type: 'Opaque', stringData: { 'ca.crt': ca.ca, 'tls.crt': 'unused here', 'tls.key': 'unused here' } },
    });
    const stepped = await redis.reconcile(ns, 'chat');
    expect(stepped.observation?.kind).toBe('stepped');
    expect(accesses.at(-1)?.tls).toEqual({ ca: ca.ca });
    expect(accesses.at(-1)?.password.length).toBeGreaterThan(0);
    expect(inputs.at(-1)?.pods.map((p) => p.host)).toEqual([0, 1, 2].map((i) => `chat-redis-${i}.chat-redis.${ns}.svc`));
  });

  it('treats a Secret whose ca.crt is no certificate as not there yet', async () => {
    const ns = await createNamespace(k);
    await create(ns, spec(TLS));
    const events = createEventRecorder({ core: k.core, log });
    await new ClusterReconciler({ objects: k.objects, core: k.core, custom: k.custom, log, events }).reconcile(ns, 'chat');
    await createRedisPod(k, ns, 'chat', 0);
    await k.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'chat-redis-tls' }, type: 'Opaque', stringData: { 'ca.crt': 'not a certificate' } } });
    const redis = new RedisReconciler({ objects: k.objects, core: k.core, custom: k.custom, log, events, driver, observations: new RedisObservations() });
    expect((await redis.reconcile(ns, 'chat')).observation).toMatchObject({ kind: 'waiting', for: 'tls-secret' });
  });
});
