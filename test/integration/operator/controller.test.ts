/**
 * The controller against the real API server: an ImGroupCluster created after start is
 * reconciled by the informers alone; logic Pods flipping Ready (set through the status subresource,
 * as a kubelet would) are reflected in N-membership within 1 s, measured over 60 changes; two
 * leader electors on one Lease → one leader, and a released Lease passes to the other.
 */
import { CoordinationV1Api } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../../operator/api/v1alpha1.js';
import { ImGroupController } from '../../../operator/controller/controller.js';
import { LeaderElector } from '../../../operator/controller/leader-election.js';
import { parseMembership } from '../../../runtime/protocol/membership.js';
import { RedisDriver, type RedisEngineFactory } from '../../../operator/reconcile/redis-driver.js';
import { createLogicPod, createNamespace, createRedisPod, eventually, installCrd, type KubeClients, kubeClients, quietLogger, setPodReady } from '../../support/operator-fixture.js';

const MINIMAL = { gate: { replicas: 2 }, logic: { replicas: 3 }, redis: { masters: 3, replicasPerMaster: 1 } };

/**
 * Flip the Ready condition of logic pods chat-logic-0…(pods-1) in turn, `changes` times, waiting
 * each time until N-membership lists exactly the Ready ones; the sorted times from each change
 * to the ConfigMap showing it, in ms.
 */
async function flipLogicPods(k: KubeClients, ns: string, pods: number, changes: number): Promise<number[]> {
  const members = async () => {
    const cm = await k.core.readNamespacedConfigMap({ namespace: ns, name: 'chat-membership' });
    const parsed = parseMembership(cm.data?.['membership.json'] ?? '');
    return parsed.ok ? parsed.doc.members.map((m) => m.id).join(',') : `invalid: ${parsed.error}`;
  };
  const ready = new Set<number>();
  const latenciesMs: number[] = [];
  for (let change = 0; change < changes; change++) {
    const i = change % pods;
    const nowReady = !ready.has(i);
    if (nowReady) ready.add(i);
    else ready.delete(i);
    const expected = [...ready].sort().map((j) => `chat-logic-${j}`).join(',');
    const t0 = performance.now();
    await setPodReady(k, ns, `chat-logic-${i}`, `10.1.0.${10 + i}`, nowReady);
    await eventually(`membership ${expected}`, async () => (await members()) === expected, 10_000, 25);
    latenciesMs.push(performance.now() - t0);
  }
  return latenciesMs.sort((a, b) => a - b);
}


describe('controller', () => {
  let k: KubeClients;
  let ns: string;
  let controller: ImGroupController;
  const registry = new Registry();

  beforeAll(async () => {
    k = kubeClients(inject('kubeconfig'));
    await installCrd(k);
    ns = await createNamespace(k);
    controller = new ImGroupController({ kc: k.kc, namespace: ns, log: quietLogger(), registry });
    await controller.start();
    expect(controller.readiness()).toBeNull();
  }, 60_000);

  afterAll(async () => {
    await controller?.stop();
  });

  it('reconciles a new cluster and follows logic pods within 1 s (p99 over 60 changes)', async () => {
    await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'chat' }, spec: MINIMAL } });
    await eventually('StatefulSets applied', async () => (await k.apps.listNamespacedStatefulSet({ namespace: ns })).items.length === 3);
    for (const i of [0, 1, 2]) await createLogicPod(k, ns, 'chat', i);

    const latenciesMs = await flipLogicPods(k, ns, 3, 60);
    const p99 = latenciesMs[Math.ceil(latenciesMs.length * 0.99) - 1] ?? Infinity;
    const p50 = latenciesMs[Math.floor(latenciesMs.length / 2)] ?? Infinity;
    console.error(`membership latency over ${latenciesMs.length} changes: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latenciesMs.at(-1)?.toFixed(1)} ms`);
    expect(p99).toBeLessThan(1000);
    const text = await registry.metrics();
    expect(text).toMatch(/imgroup_operator_membership_publish_latency_seconds_count \d+/);
    expect(text).toMatch(/controller_runtime_reconcile_total\{controller="imgroupcluster",result="(success|requeue_after)"\} \d+/);
    expect(text).toMatch(/workqueue_adds_total\{name="imgroupcluster"\} \d+/);
  }, 120_000);

  it('two electors on one Lease: one leader; releasing passes it on', async () => {
    const coordination = k.kc.makeApiClient(CoordinationV1Api);
    const leading = new Set<string>();
    const mk = (identity: string) =>
      new LeaderElector({
        coordination,
        namespace: ns,
        name: 'imgroup-operator',
        identity,
        log: quietLogger(),
        leaseDurationMs: 3000,
        renewDeadlineMs: 2000,
        retryPeriodMs: 200,
        onStartedLeading: () => leading.add(identity),
        onStoppedLeading: () => leading.delete(identity),
      });
    const a = mk('a');
    const b = mk('b');
    a.start();
    b.start();
    await eventually('a leader', async () => leading.size === 1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(leading.size).toBe(1);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    const [first, second] = a.isLeader ? [a, b] : [b, a];
    await first.release();
    leading.clear();
    await eventually('the other leads', async () => second.isLeader, 10_000);
    await second.release();
  }, 30_000);
});

describe('controller: membership while the cluster is busy with a Redis step', () => {
  let k: KubeClients;
  let ns: string;
  let controller: ImGroupController;
  const STEP_MS = 3000;
  let steps = 0;

  beforeAll(async () => {
    k = kubeClients(inject('kubeconfig'));
    await installCrd(k);
    ns = await createNamespace(k);
    // A test double of the Redis lifecycle engine (named as such): every step takes 3 s, the way a
    // slot migration or an unreachable pod can hold a real step, and then reports a healthy cluster.
    const slowEngine: RedisEngineFactory = () => ({
      step: async (input) => {
        steps++;
        await new Promise((r) => setTimeout(r, STEP_MS));
        return {
          state: 'Healthy',
          slotsAssigned: 16384,
          shards: [],
          migration: null,
          statefulSetReplicas: input.statefulSetReplicas,
          actions: [],
          requeueAfterMs: 100,
          conditions: { clusterFormed: true, slotsAssigned: true, degraded: false, reason: 'ClusterHealthy', message: 'test double' },
          problems: [],
          unreachable: [],
        };
      },
      close: async () => undefined,
    });
    controller = new ImGroupController({ kc: k.kc, namespace: ns, log: quietLogger(), registry: new Registry(), redis: new RedisDriver(slowEngine) });
    await controller.start();
  }, 60_000);

  afterAll(async () => {
    await controller?.stop();
  });

  it('publishes logic pod changes within 1 s although every reconcile of the cluster spends 3 s in its Redis step', async () => {
    await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'chat' }, spec: MINIMAL } });
    await eventually('StatefulSets and the auth Secret', async () => {
      const sts = (await k.apps.listNamespacedStatefulSet({ namespace: ns })).items.length === 3;
      const secret = await k.core.readNamespacedSecret({ namespace: ns, name: 'chat-auth' }).then(() => true, () => false);
      return sts && secret;
    });
    await createRedisPod(k, ns, 'chat', 0);
    await setPodReady(k, ns, 'chat-redis-0', '10.2.0.10', true);
    await eventually('the Redis step runs', async () => steps > 0);
    for (const i of [0, 1]) await createLogicPod(k, ns, 'chat', i);

    const latenciesMs = await flipLogicPods(k, ns, 2, 10);
    console.error(`membership latency during ${STEP_MS} ms Redis steps (${steps} steps): max ${latenciesMs.at(-1)?.toFixed(0)} ms over ${latenciesMs.length} changes`);
    expect(latenciesMs.at(-1)).toBeLessThan(STEP_MS / 2);
  }, 120_000);
});
