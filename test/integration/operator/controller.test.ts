/**
 * The controller against the real API server: an ImGroupCluster created after start is
 * reconciled by the informers alone; logic Pods flipping Ready (set through the status subresource,
 * as a kubelet would) are reflected in N-membership, one publish per change (the latency is
 * printed as a measurement, not asserted: the README quotes it); two leader electors on one
 * Lease → one leader, and a released Lease passes to the other; a membership change is published
 * while the cluster's reconcile is held in a Redis step.
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
 * to the ConfigMap showing it, in ms (a measurement to print). With `published` (a count of
 * publishes), each change also waits until that count has grown by exactly one: the controller
 * observes the count after its write returns, which can be after this client already reads the
 * ConfigMap; a count that grew by more fails at once.
 */
async function flipLogicPods(k: KubeClients, ns: string, pods: number, changes: number, published?: () => Promise<number>): Promise<number[]> {
  const members = async () => {
    const cm = await k.core.readNamespacedConfigMap({ namespace: ns, name: 'chat-membership' });
    const parsed = parseMembership(cm.data?.['membership.json'] ?? '');
    return parsed.ok ? parsed.doc.members.map((m) => m.id).join(',') : `invalid: ${parsed.error}`;
  };
  const ready = new Set<number>();
  const latenciesMs: number[] = [];
  const publishedBefore = published ? await published() : 0;
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
    if (published) {
      await eventually(`change ${change + 1} published once`, async () => {
        const n = (await published()) - publishedBefore;
        if (n > change + 1) throw new Error(`${n} publishes after ${change + 1} changes: a change was written twice`);
        return n === change + 1;
      }, { intervalMs: 10 });
    }
  }
  return latenciesMs.sort((a, b) => a - b);
}

/** How many membership publishes that followed a logic pod event the controller has observed. */
async function publishCount(registry: Registry): Promise<number> {
  const m = /^imgroup_operator_membership_publish_latency_seconds_count (\d+)$/m.exec(await registry.metrics());
  if (!m) throw new Error('imgroup_operator_membership_publish_latency_seconds_count is not exported');
  return Number(m[1]);
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
    // A CRD just installed may answer 429 "storage is (re)initializing" to the first list: retried.
    await eventually('informers synced', async () => controller.readiness() === null);
    expect(controller.readiness()).toBeNull();
  }, 60_000);

  afterAll(async () => {
    await controller?.stop();
  });

  it('reconciles a new cluster and publishes every logic pod change, once per change', async () => {
    await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'chat' }, spec: MINIMAL } });
    await eventually('StatefulSets applied', async () => (await k.apps.listNamespacedStatefulSet({ namespace: ns })).items.length === 3);
    for (const i of [0, 1, 2]) await createLogicPod(k, ns, 'chat', i);
    const publishedBefore = await publishCount(registry);

    const CHANGES = 60;
    const latenciesMs = await flipLogicPods(k, ns, 3, CHANGES, () => publishCount(registry));
    const p99 = latenciesMs[Math.ceil(latenciesMs.length * 0.99) - 1] ?? Infinity;
    const p50 = latenciesMs[Math.floor(latenciesMs.length / 2)] ?? Infinity;
    // A measurement (README: "measured"), not a pass/fail bound: it depends on the machine.
    console.error(`membership latency over ${latenciesMs.length} changes (measured): p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latenciesMs.at(-1)?.toFixed(1)} ms`);
    // Each change was published (flipLogicPods waited for it and for its count), each by exactly
    // one write that followed its pod event: no change missed, none written twice.
    expect((await publishCount(registry)) - publishedBefore).toBe(CHANGES);
    const text = await registry.metrics();
    expect(text).toMatch(/controller_runtime_reconcile_total\{controller="imgroupcluster",result="(success|requeue_after)"\} [1-9]\d*/);
    expect(text).toMatch(/workqueue_adds_total\{name="imgroupcluster"\} [1-9]\d*/);
  }, 120_000);

  it('two electors on one Lease: one leader; releasing passes it on', async () => {
    const api = k.kc.makeApiClient(CoordinationV1Api);
    const leading = new Set<string>();
    const reads = new Map<string, number>();
    const mk = (identity: string) =>
      new LeaderElector({
        // Counts each elector's attempts (every attempt reads the Lease first).
        coordination: {
          readNamespacedLease: (req) => {
            reads.set(identity, (reads.get(identity) ?? 0) + 1);
            return api.readNamespacedLease(req);
          },
          createNamespacedLease: (req) => api.createNamespacedLease(req),
          replaceNamespacedLease: (req) => api.replaceNamespacedLease(req),
        },
        namespace: ns,
        name: 'imgroup-operator',
        identity,
        log: quietLogger(),
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 200,
        onStartedLeading: () => leading.add(identity),
        onStoppedLeading: () => leading.delete(identity),
      });
    const a = mk('a');
    const b = mk('b');
    a.start();
    b.start();
    await eventually('a leader', async () => leading.size === 1);
    const [first, second, secondId] = a.isLeader ? [a, b, 'b'] : [b, a, 'a'];
    // The other one tries again and again, and is refused each time.
    const triedBefore = reads.get(secondId) ?? 0;
    await eventually('the other elector tried 5 more times', async () => {
      expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
      return (reads.get(secondId) ?? 0) >= triedBefore + 5;
    });
    expect(leading.size).toBe(1);
    expect(second.isLeader).toBe(false);
    await first.release();
    leading.clear();
    await eventually('the other leads', async () => second.isLeader, 10_000);
    await second.release();
  }, 60_000);
});

describe('controller: membership while the cluster is busy with a Redis step', () => {
  let k: KubeClients;
  let ns: string;
  let controller: ImGroupController;
  let steps = 0;
  let stepsInFlight = 0;
  let releaseSteps = () => {};
  const held = new Promise<void>((resolve) => (releaseSteps = resolve));

  beforeAll(async () => {
    k = kubeClients(inject('kubeconfig'));
    await installCrd(k);
    ns = await createNamespace(k);
    // A test double of the Redis lifecycle engine (named as such): a step is held until the test
    // lets it go, the way a slot migration or an unreachable pod can hold a real step, and then
    // reports a healthy cluster.
    const heldEngine: RedisEngineFactory = () => ({
      step: async (input) => {
        steps++;
        stepsInFlight++;
        await held;
        stepsInFlight--;
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
    controller = new ImGroupController({ kc: k.kc, namespace: ns, log: quietLogger(), registry: new Registry(), redis: new RedisDriver(heldEngine) });
    await controller.start();
  }, 60_000);

  afterAll(async () => {
    releaseSteps();
    await controller?.stop();
  });

  it('publishes logic pod changes while the reconcile of the cluster is held in its Redis step', async () => {
    await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'chat' }, spec: MINIMAL } });
    await eventually('StatefulSets and the auth Secret', async () => {
      const sts = (await k.apps.listNamespacedStatefulSet({ namespace: ns })).items.length === 3;
      const secret = await k.core.readNamespacedSecret({ namespace: ns, name: 'chat-auth' }).then(() => true, () => false);
      return sts && secret;
    });
    await createRedisPod(k, ns, 'chat', 0);
    await setPodReady(k, ns, 'chat-redis-0', '10.2.0.10', true);
    await eventually('a Redis step is held', async () => stepsInFlight === 1);
    for (const i of [0, 1]) await createLogicPod(k, ns, 'chat', i);

    const latenciesMs = await flipLogicPods(k, ns, 2, 10);
    console.error(`membership latency while a Redis step is held (measured): max ${latenciesMs.at(-1)?.toFixed(0)} ms over ${latenciesMs.length} changes`);
    // All 10 changes were published while the one step (and so the cluster's reconcile) was held.
    expect(steps).toBe(1);
    expect(stepsInFlight).toBe(1);
  }, 120_000);
});
