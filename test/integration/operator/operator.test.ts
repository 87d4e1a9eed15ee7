/**
 * `startOperator` (what `imgroup operator` runs) against the real API server: two replicas → one
 * leader that reconciles; /healthz, /readyz and /metrics on the ops port; the leader's graceful
 * stop hands the Lease to the other, which then acts; a leader whose Lease another holder took
 * stops acting at once (`imgroup operator` then exits 1). On a control plane of its own: the API
 * server restarts and the operator reconnects and converges. Behind a proxy whose connections go
 * silent: the informer watchdog re-lists and the operator still acts on what changed meanwhile.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, type ImGroupCluster, PLURAL, VERSION } from '../../../operator/api/v1alpha1.js';
import { MicroTime } from '../../../operator/controller/leader-election.js';
import { type RunningOperator, startOperator } from '../../../operator/main.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { TcpProxy } from '../../support/tcp-proxy.js';
import { alertRules, jobsOf, selectorsIn, SYNTHETIC_SERIES } from '../../support/alert-rules.js';
import { familyOfSeries, parseExposition } from '../../support/exposition.js';
import { createNamespace, eventually, installCrd, type KubeClients, kubeClients, operatorTestOptions } from '../../support/operator-fixture.js';

const MINIMAL = { gate: { replicas: 2 }, logic: { replicas: 3 }, redis: { masters: 3, replicasPerMaster: 1 } };

async function createCluster(k: KubeClients, ns: string, name: string): Promise<void> {
  await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name }, spec: MINIMAL } });
}

/** Read-modify-write of spec.logic.replicas, read again when the operator's status write got in between (409). */
async function scaleLogic(k: KubeClients, ns: string, name: string, replicas: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = (await k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name })) as ImGroupCluster;
    try {
      await k.custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name, body: { ...current, spec: { ...current.spec, logic: { ...current.spec?.logic, replicas } } } });
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409 || attempt >= 10) throw err;
    }
  }
}

async function logicReplicas(k: KubeClients, ns: string, name: string): Promise<number | undefined> {
  try {
    return (await k.apps.readNamespacedStatefulSet({ namespace: ns, name: `${name}-logic` })).spec?.replicas;
  } catch {
    return undefined;
  }
}

/** The sum of a metric's samples (all label sets) on an operator's /metrics. */
async function metricSum(op: RunningOperator, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${op.opsPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === name && (m[2] ?? '').includes(labels)) sum += Number(m[3]);
  }
  return sum;
}

async function leaseOf(k: KubeClients, ns: string): Promise<{ holder: string | undefined; resourceVersion: string | undefined }> {
  const lease = await k.coordination.readNamespacedLease({ namespace: ns, name: 'imgroup-operator' });
  return { holder: lease.spec?.holderIdentity, resourceVersion: lease.metadata?.resourceVersion };
}

describe('imgroup operator', () => {
  let k: KubeClients;
  let kubeconfig: string;
  const running: RunningOperator[] = [];

  beforeAll(async () => {
    kubeconfig = inject('kubeconfig');
    k = kubeClients(kubeconfig);
    await installCrd(k);
  }, 60_000);

  afterAll(async () => {
    for (const r of running.splice(0)) await r.stop();
  });

  it('two replicas: one leader acts, serves ops endpoints, and hands over on a graceful stop', async () => {
    const ns = await createNamespace(k);
    const a = await startOperator(operatorTestOptions(kubeconfig, ns, 'a'));
    const b = await startOperator(operatorTestOptions(kubeconfig, ns, 'b'));
    running.push(a, b);
    await eventually('a leader', async () => a.isLeader() || b.isLeader());
    // Both campaign meanwhile: exactly one leads while the leader renews the Lease 5 times.
    const versions = new Set<string | undefined>();
    await eventually('5 renewals with one leader', async () => {
      expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
      versions.add((await leaseOf(k, ns)).resourceVersion);
      return versions.size > 5;
    });
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
    expect((await leaseOf(k, ns)).holder).toBe(a.isLeader() ? 'a' : 'b');

    await createCluster(k, ns, 'chat');
    await eventually('StatefulSet chat-logic', async () => (await logicReplicas(k, ns, 'chat')) === 3);
    const base = `http://127.0.0.1:${leader.opsPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    let readyBody = '';
    await eventually('/readyz', async () => {
      const res = await fetch(`${base}/readyz`);
      readyBody = await res.text();
      return res.status === 200;
    }).catch((err: Error) => {
      throw new Error(`${err.message}: ${readyBody}`);
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of ['controller_runtime_reconcile_total', 'controller_runtime_reconcile_errors_total', 'controller_runtime_reconcile_time_seconds', 'workqueue_depth', 'workqueue_adds_total', 'workqueue_retries_total', 'imgroup_operator_membership_publish_latency_seconds']) {
      expect(metrics, name).toContain(name);
    }
    expect(metrics).toMatch(/imgroup_operator_leader 1/);
    // What the alert rules read (charts/imgroup/alerts): the cluster's conditions, and every
    // operator series an alert selects, on a real operator's /metrics.
    let withConditions = '';
    await eventually('the condition gauges of chat', async () => {
      withConditions = await (await fetch(`${base}/metrics`)).text();
      return withConditions.includes(`imgroup_operator_cluster_condition{cluster="${ns}/chat",condition="Degraded"} 0`);
    });
    const families = parseExposition(withConditions);
    const unread = alertRules().flatMap((r) => selectorsIn(r.expr)).filter((s) => jobsOf(s).includes('imgroup-operator') && !SYNTHETIC_SERIES.has(s.metric));
    expect(unread.length).toBeGreaterThan(0);
    expect(unread.filter((s) => !familyOfSeries(s.metric, families)).map((s) => s.metric)).toEqual([]);

    await leader.stop();
    running.splice(running.indexOf(leader), 1);
    await eventually('the standby leads', async () => standby.isLeader(), 10_000);
    await scaleLogic(k, ns, 'chat', 4);
    await eventually('the new leader scales', async () => (await logicReplicas(k, ns, 'chat')) === 4);
  });

  it('a leader whose Lease another holder took stops acting at once; the new holder acts', async () => {
    const ns = await createNamespace(k);
    const a = await startOperator(operatorTestOptions(kubeconfig, ns, 'a'));
    running.push(a);
    let aLost = false;
    void a.leadershipLost.then(() => (aLost = true));
    await eventually('a leads', async () => a.isLeader());
    await createCluster(k, ns, 'chat');
    await eventually('StatefulSet chat-logic', async () => (await logicReplicas(k, ns, 'chat')) === 3);
    const b = await startOperator(operatorTestOptions(kubeconfig, ns, 'b'));
    running.push(b);

    // Another writer hands the Lease to b, as if a's renewals had not reached the API server in time.
    // A renewal by a between the read and the write makes it a conflict (409): read again.
    await eventually('the Lease handed to b', async () => {
      const lease = await k.coordination.readNamespacedLease({ namespace: ns, name: 'imgroup-operator' });
      const now = new MicroTime();
      lease.spec = { ...lease.spec, holderIdentity: 'b', acquireTime: now, renewTime: now, leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 };
      try {
        await k.coordination.replaceNamespacedLease({ namespace: ns, name: 'imgroup-operator', body: lease });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 409) return false;
        throw err;
      }
    });

    await eventually('a gave up leadership (imgroup operator would exit 1)', async () => aLost);
    expect(a.isLeader()).toBe(false);
    expect(await metricSum(a, 'imgroup_operator_leader')).toBe(0);
    const aDone = async () => (await metricSum(a, 'controller_runtime_reconcile_total', 'result="success"')) + (await metricSum(a, 'controller_runtime_reconcile_total', 'result="requeue_after"'));
    const aDoneAtLoss = await aDone();

    await eventually('b leads', async () => b.isLeader());
    await scaleLogic(k, ns, 'chat', 4);
    await eventually('b scales', async () => (await logicReplicas(k, ns, 'chat')) === 4);
    expect(await aDone()).toBe(aDoneAtLoss);
    expect(await metricSum(b, 'controller_runtime_reconcile_total')).toBeGreaterThan(0);
    expect((await leaseOf(k, ns)).holder).toBe('b');
    expect(a.isLeader()).toBe(false); // and it never campaigns again
  });
});

describe('imgroup operator across an API server restart', () => {
  let cp: TestControlPlane;
  let running: RunningOperator | undefined;

  beforeAll(async () => {
    cp = await startTestControlPlane();
  }, 300_000);

  afterAll(async () => {
    await running?.stop();
    await cp?.stop();
  });

  it('reconnects and converges', async () => {
    const k = kubeClients(cp.kubeconfigPath);
    await installCrd(k);
    const ns = await createNamespace(k);
    // A renew deadline longer than the restart: a leader that misses it stops for good (and
    // `imgroup operator` exits to be restarted), which is not what this test is about.
    running = await startOperator(operatorTestOptions(cp.kubeconfigPath, ns, 'solo', { leaseDurationMs: 120_000, renewDeadlineMs: 90_000, retryPeriodMs: 1000 }));
    const op = running;
    await eventually('leader', async () => op.isLeader());
    await createCluster(k, ns, 'chat');
    await eventually('StatefulSet chat-logic', async () => (await logicReplicas(k, ns, 'chat')) === 3);
    const errorRestarts = () => metricSum(op, 'imgroup_operator_informer_restarts_total', 'reason="error"');
    const before = await errorRestarts();

    await cp.stopApiServer();
    await eventually('the operator saw the API server go', async () => (await errorRestarts()) > before);
    await cp.startApiServer();
    await scaleLogic(k, ns, 'chat', 5);
    await eventually('converged after the restart', async () => (await logicReplicas(k, ns, 'chat')) === 5, 60_000, 250);
  }, 180_000);
});

describe('imgroup operator behind connections that go silent', () => {
  let proxy: TcpProxy | undefined;
  let running: RunningOperator | undefined;

  afterAll(async () => {
    await running?.stop();
    await proxy?.close();
  });

  it('the informer watchdog re-lists a watch that went silent, and the change made meanwhile is reconciled', async () => {
    const adminPath = inject('kubeconfig');
    const k = kubeClients(adminPath);
    await installCrd(k);
    const ns = await createNamespace(k);
    const server = new URL(k.kc.getCurrentCluster()?.server ?? '');
    proxy = new TcpProxy({ host: server.hostname, port: Number(server.port) });
    await proxy.start();
    const viaProxy = join(tmpdir(), `imgroup-kubeconfig-proxy-${process.pid}-${ns}.yaml`);
    writeFileSync(viaProxy, readFileSync(adminPath, 'utf8').replaceAll(server.origin, `https://${server.hostname}:${proxy.port}`));

    // A long Lease so that slow renewals do not hand leadership around (a new controller would
    // re-list too, and this test must see the watchdog do it); a resync far beyond the test.
    running = await startOperator(
      operatorTestOptions(viaProxy, ns, 'solo', { stallMs: 2000, resyncMs: 3_600_000, requestTimeoutMs: 2000, leaseDurationMs: 60_000, renewDeadlineMs: 45_000, retryPeriodMs: 1000 }),
    );
    await eventually('leader', async () => running?.isLeader() === true);
    await createCluster(k, ns, 'chat');
    await eventually('StatefulSet chat-logic', async () => (await logicReplicas(k, ns, 'chat')) === 3);
    const metricsUrl = `http://127.0.0.1:${running.opsPort}/metrics`;
    const stalledRestarts = async () => {
      const text = await (await fetch(metricsUrl)).text();
      let sum = 0;
      for (const m of text.matchAll(/^imgroup_operator_informer_restarts_total\{[^}]*reason="stalled"[^}]*\} (\d+)$/gm)) sum += Number(m[1]);
      return sum;
    };
    const before = await stalledRestarts();

    expect(proxy.stall()).toBeGreaterThan(0);
    await scaleLogic(k, ns, 'chat', 5); // through the admin connection, not the proxy
    await eventually('reconciled after the watchdog re-listed', async () => (await logicReplicas(k, ns, 'chat')) === 5, 60_000, 250);
    expect(await stalledRestarts()).toBeGreaterThan(before);
    expect(running.isLeader()).toBe(true);
  }, 120_000);
});
