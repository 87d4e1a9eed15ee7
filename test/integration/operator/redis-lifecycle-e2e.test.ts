/**
 * Issue 5 §2 end to end: the operator (startOperator, what `imgroup operator` runs) forms, repairs
 * and scales a real Redis Cluster of Pod objects. A control plane of its own runs the real
 * StatefulSet controller; a test node agent plays the kubelet (each N-redis pod is a real
 * redis-server on a loopback address of its own, with the arguments the operator put in the pod
 * spec); an ioredis Cluster client follows the pod DNS names Redis announces, resolved in this
 * process from the agent's pod addresses (pod-dns-lookup.ts).
 *
 * The steps run in order on one ImGroupCluster (gate and logic replicas 0: only Redis pods run):
 * bootstrap → 20,000 keys → masters 3 → 5 → 3 under a concurrent client → all Redis processes
 * restarted at once on new addresses → a master down (its replica takes over) → the operator
 * restarted in the middle of a migration (3 → 4). Figures are printed; counts and states are
 * asserted, never wall time.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, type ImGroupCluster, type ImGroupClusterStatus, PLURAL, type RedisClusterStatus, VERSION } from '../../../operator/api/v1alpha1.js';
import { AUTH_SECRET_KEYS } from '../../../operator/desired/auth-secret.js';
import { type RunningOperator, startOperator } from '../../../operator/main.js';
import type { OperatorOptions } from '../../../operator/operator-options.js';
import { RedisClusterAdmin } from '../../../runtime/redis-cluster/cluster-admin.js';
import type { ClusterNodeRecord } from '../../../runtime/redis-cluster/cluster-nodes.js';
import { countSlots } from '../../../runtime/redis-cluster/slot-ranges.js';
import type { TestControlPlane } from '../../support/control-plane.js';
import { eventually } from '../../support/eventually.js';
import { MERGE_PATCH } from '../../support/node-agent/agent-api.js';
import { NodeAgent, redisRuntime, startStatefulSetControlPlane } from '../../support/node-agent/index.js';
import { installPodDnsLookup } from '../../support/pod-dns-lookup.js';
import { createNamespace, installCrd, type KubeClients, kubeClients, operatorTestOptions, quietLogger } from '../../support/operator-fixture.js';
import { concurrentTraffic, keyClient, missingKeys, type TrafficReport, writeKeys } from '../../support/redis-key-traffic.js';

const NAME = 'chat';
const STS = `${NAME}-redis`;
const KEYS = 20_000;
const PREFIX = 'e2e';
const SLOTS = 16384;
const REDIS_PORT = 6379;

function operatorOptions(kubeconfig: string, namespace: string, identity: string): OperatorOptions {
  return operatorTestOptions(kubeconfig, namespace, identity, { redisSlotsPerStep: 512 });
}

const isReady = (p: V1Pod) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') && !p.metadata?.deletionTimestamp;
const ordinalOf = (podOrHost: string) => Number(/-(\d+)(\.|$)/.exec(podOrHost)?.[1] ?? NaN);

describe('operator runs the Redis lifecycle on real Redis pods (issue 5 §2)', () => {
  let cp: TestControlPlane;
  let k: KubeClients;
  let ns: string;
  let agent: NodeAgent;
  let operator: RunningOperator | null = null;
  let password = '';
  let admin: RedisClusterAdmin;
  let restoreLookup: (() => void) | undefined;
  /** status.redis.message of Degraded samples seen while scaling out to 5 masters. */
  let scaleOutDegraded: string[] | null = null;

  // ---------------------------------------------------------------------------------------------
  // Reading the world

  const readCluster = async (): Promise<ImGroupCluster> =>
    (await k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: NAME })) as ImGroupCluster;
  const status = async (): Promise<ImGroupClusterStatus> => (await readCluster()).status ?? {};
  const redisStatus = async (): Promise<RedisClusterStatus | undefined> => (await status()).redis;
  const redisPods = async (): Promise<V1Pod[]> => (await k.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=redis' })).items;
  const stsReplicas = async (): Promise<number | undefined> => {
    try {
      return (await k.apps.readNamespacedStatefulSet({ namespace: ns, name: STS })).spec?.replicas;
    } catch {
      return undefined;
    }
  };
  const events = async (): Promise<Array<{ reason: string; message: string; type: string }>> =>
    (await k.core.listNamespacedEvent({ namespace: ns })).items
      .filter((e) => e.involvedObject?.name === NAME)
      .sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')))
      .map((e) => ({ reason: e.reason ?? '', message: e.message ?? '', type: e.type ?? '' }));
  const metrics = async (): Promise<string> => {
    if (!operator) return '';
    return (await fetch(`http://127.0.0.1:${operator.opsPort}/metrics`)).text();
  };
  const podAddr = (name: string) => {
    const host = agent.podIP(name, ns);
    if (!host) throw new Error(`pod ${name} has no address`);
    return { host, port: REDIS_PORT };
  };
  /** CLUSTER NODES as pod `name` sees it. */
  const nodesSeenBy = async (name: string): Promise<ClusterNodeRecord[]> => (await admin.nodes(podAddr(name))).nodes;
  const runningPodNames = () => agent.pods().filter((p) => p.namespace === ns).map((p) => p.name).sort((a, b) => ordinalOf(a) - ordinalOf(b));
  const client = (autoPipelining = false): Cluster =>
    keyClient({ seeds: runningPodNames().flatMap((n) => (agent.podIP(n, ns) ? [podAddr(n)] : [])), password, autoPipelining });
  /** Every key written at the start is readable with its value, through a fresh client. */
  const expectEveryKey = async (): Promise<void> => {
    const c = client();
    try {
      expect(await missingKeys(c, PREFIX, KEYS)).toEqual([]);
    } finally {
      c.disconnect();
    }
  };

  /** What the operator and the cluster show, for a failed wait's message. */
  const explainState = async (): Promise<string> => {
    const s = await status().catch((err: Error) => ({ error: err.message }));
    const pods = (await redisPods().catch(() => [])).map((p) => `${p.metadata?.name} ${p.status?.podIP ?? '-'} ${isReady(p) ? 'Ready' : 'NotReady'}`);
    const recent = (await events().catch(() => [])).slice(-12).map((e) => `${e.type} ${e.reason}: ${e.message}`);
    return (
      `status.redis: ${JSON.stringify((s as ImGroupClusterStatus).redis ?? s)}\n` +
      `conditions: ${JSON.stringify((s as ImGroupClusterStatus).conditions ?? [])}\n` +
      `StatefulSet replicas: ${await stsReplicas().catch(() => '?')}; pods: ${pods.join(', ')}\n` +
      `recent Events:\n  ${recent.join('\n  ')}`
    );
  };
  /** Wait for a state of the cluster (API reads that race a pod's restart are retried); a failure carries status.redis, the pods and the recent Events. */
  const waitFor = (what: string, probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<void> =>
    eventually(what, probe, { timeoutMs, intervalMs, retryErrors: true, explain: explainState });

  const evenWithin = (masters: number) => Math.max(1, Math.floor(SLOTS / masters / 100));
  /** Healthy with `masters` shards of one replica each, spread even, `pods` pods running and Ready. */
  const settled = (masters: number, pods: number) => async (): Promise<boolean> => {
    const r = await redisStatus();
    if (r?.state !== 'Healthy' || r.slotsAssigned !== SLOTS || r.shards?.length !== masters) return false;
    if (r.shards.some((s) => (s.replicas ?? []).length !== 1)) return false;
    const sizes = r.shards.map((s) => s.slots ?? 0);
    if (Math.max(...sizes) - Math.min(...sizes) > evenWithin(masters)) return false;
    if ((await stsReplicas()) !== pods) return false;
    const live = await redisPods();
    return live.length === pods && live.every(isReady);
  };

  async function setMasters(masters: number): Promise<void> {
    await k.custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: NAME, body: { spec: { redis: { masters } } } }, MERGE_PATCH);
  }

  async function startTheOperator(identity: string): Promise<void> {
    operator = await startOperator(operatorOptions(cp.kubeconfigPath, ns, identity));
  }

  async function stopTheOperator(): Promise<void> {
    const o = operator;
    operator = null;
    await o?.stop();
  }

  /** Every 150 ms while a scale runs: status.redis and the StatefulSet's replicas, and (scale-in) who serves slots when the StatefulSet shrank. */
  function watchScale(leavingFrom: number | null): { stop: () => Promise<ScaleWatch> } {
    const seen: ScaleWatch = { degradedWhy: [], states: new Set(), migrating: 0, maxSlotsMoved: 0, replicas: [], undrainedWhenLowered: [] };
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          const replicas = await stsReplicas();
          if (replicas !== undefined && seen.replicas.at(-1) !== replicas) seen.replicas.push(replicas);
          if (leavingFrom !== null && replicas !== undefined && replicas <= leavingFrom) {
            // Read after the StatefulSet: a leaving pod serving slots now served them when it shrank.
            for (const n of await nodesSeenBy(`${STS}-0`)) {
              const o = ordinalOf(n.hostname ?? '');
              if (o >= leavingFrom && n.slots.length > 0 && !n.flags.has('fail')) seen.undrainedWhenLowered.push(`${n.hostname} serves ${countSlots(n.slots)} slots with replicas=${replicas}`);
            }
          }
          const r = await redisStatus();
          if (r) {
            seen.states.add(r.state);
            if (r.state === 'Degraded' && seen.degradedWhy.length < 3 && !seen.degradedWhy.includes(r.message ?? '')) seen.degradedWhy.push(r.message ?? '');
            if (r.state === 'Migrating' && r.migration && (r.migration.slotsPlanned ?? 0) > 0) {
              seen.migrating++;
              seen.maxSlotsMoved = Math.max(seen.maxSlotsMoved, r.migration.slotsMoved ?? 0);
            }
          }
        } catch {
          // a read racing a pod's deletion; the next sample looks again
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return seen;
      },
    };
  }

  // ---------------------------------------------------------------------------------------------

  beforeAll(async () => {
    cp = await startStatefulSetControlPlane();
    k = kubeClients(cp.kubeconfigPath);
    await installCrd(k);
    ns = await createNamespace(k, 'redis-e2e');
    agent = new NodeAgent({
      kubeconfig: k.kc,
      runtimes: [redisRuntime()],
      bind: { namespace: ns, labelSelector: 'app.kubernetes.io/component=redis' },
      probePeriodCapMs: 500,
      maxTerminationGraceMs: 3000,
      restartBackoff: { initialMs: 200, maxMs: 2000 },
      log: quietLogger(),
    });
    await agent.start();
    restoreLookup = installPodDnsLookup((host) => agent.resolve(host));
    await startTheOperator('first');
  }, 300_000);

  afterAll(async () => {
    await stopTheOperator().catch(() => undefined);
    await admin?.close();
    await agent?.stop({ graceMs: 1000 });
    await cp?.stop();
    restoreLookup?.();
  }, 120_000);

  it('bootstraps 3 masters × 1 replica: cluster_state ok, 16384 slots, status, conditions, Events, metric', async () => {
    const startedAt = Date.now();
    await k.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: NAME }, spec: { gate: { replicas: 0 }, logic: { replicas: 0 }, redis: { masters: 3, replicasPerMaster: 1 } } },
    });
    await waitFor('Redis Cluster Healthy after bootstrap', settled(3, 6), 180_000);
    console.log(`bootstrap: 6 pods Ready and the cluster Healthy ${((Date.now() - startedAt) / 1000).toFixed(1)} s after the ImGroupCluster was created`);

    const secret = await k.core.readNamespacedSecret({ namespace: ns, name: `${NAME}-auth` });
    password = Buffer.from(secret.data?.[AUTH_SECRET_KEYS.redisPassword] ?? '', 'base64').toString('utf8');
    expect(password.length).toBeGreaterThan(0);
    admin = new RedisClusterAdmin({ password });

    // Redis itself: every node ok with every slot; every master has one replica on another pod.
    const names = runningPodNames();
    expect(names).toEqual([0, 1, 2, 3, 4, 5].map((i) => `${STS}-${i}`));
    for (const n of names) {
      const info = await admin.clusterInfo(podAddr(n));
      expect(info.state, n).toBe('ok');
      expect(info.slotsAssigned, n).toBe(SLOTS);
      expect(info.knownNodes, n).toBe(6);
    }
    const nodes = await nodesSeenBy(`${STS}-0`);
    const masters = nodes.filter((n) => n.role === 'master' && n.slots.length > 0);
    expect(masters).toHaveLength(3);
    expect(masters.reduce((sum, m) => sum + countSlots(m.slots), 0)).toBe(SLOTS);
    for (const m of masters) expect(nodes.filter((n) => n.role === 'replica' && n.masterId === m.id), m.hostname ?? m.id).toHaveLength(1);

    // The operator's report.
    const s = await status();
    expect(s.redis?.state).toBe('Healthy');
    expect(s.redis?.slotsAssigned).toBe(SLOTS);
    expect(s.redis?.shards?.map((sh) => sh.master).sort()).toEqual(masters.map((m) => (m.hostname ?? '').split('.')[0]).sort());
    for (const sh of s.redis?.shards ?? []) {
      expect(sh.master).toMatch(new RegExp(`^${STS}-\\d+$`));
      expect(sh.replicas?.[0]).toMatch(new RegExp(`^${STS}-\\d+$`));
    }
    const condition = (type: string) => s.conditions?.find((c) => c.type === type)?.status;
    expect(condition('ClusterFormed')).toBe('True');
    expect(condition('SlotsAssigned')).toBe('True');
    expect((await events()).filter((e) => e.reason === 'RedisBootstrap').length).toBeGreaterThanOrEqual(1);
    expect(await metrics()).toContain(`imgroup_operator_redis_slots_assigned{cluster="${ns}/${NAME}"} ${SLOTS}`);
  }, 240_000);

  it.each([
    { masters: 5, pods: 10 },
    { masters: 3, pods: 6 },
  ])('scales masters to $masters with 20,000 keys: every key readable, no error reached a concurrent client, StatefulSet lowered only after the drain', async (step) => {
    if (step.masters === 5) {
      const bulk = client(true);
      const w0 = Date.now();
      try {
        await writeKeys(bulk, PREFIX, KEYS);
      } finally {
        bulk.disconnect();
      }
      console.log(`wrote ${KEYS} keys in ${((Date.now() - w0) / 1000).toFixed(1)} s`);
    }
    const c = client();
    try {
      expect(await missingKeys(c, PREFIX, KEYS)).toEqual([]);
      const before = (await stsReplicas()) ?? 0;
      const traffic = concurrentTraffic(c, PREFIX, KEYS, `scale${step.masters}`);
      const watch = watchScale(step.pods < before ? step.pods : null);
      const startedAt = Date.now();
      const migrationsBefore = metricValue(await metrics(), 'imgroup_operator_redis_migrations_total');
      let report: TrafficReport;
      let seen: ScaleWatch;
      try {
        await setMasters(step.masters);
        await waitFor(`Healthy with ${step.masters} even shards on ${step.pods} pods`, settled(step.masters, step.pods), 300_000);
      } finally {
        seen = await watch.stop();
        report = await traffic.stop();
      }
      const seconds = (Date.now() - startedAt) / 1000;
      const moved = metricValue(await metrics(), 'imgroup_operator_redis_migrations_total') - migrationsBefore;
      console.log(
        `scale to ${step.masters} masters: ${moved} slots moved in ${seconds.toFixed(1)} s; StatefulSet replicas ${seen.replicas.join(' → ')}; ` +
          `states seen ${[...seen.states].join(', ')} (${seen.migrating} Migrating samples, up to ${seen.maxSlotsMoved} slots in one step); ` +
          `concurrent client: ${report.ops} ops, ${report.errorCount} errors${seen.degradedWhy.length > 0 ? `; Degraded because: ${seen.degradedWhy.join(' | ')}` : ''}`,
      );
      if (step.masters === 5) scaleOutDegraded = seen.degradedWhy;
      expect(report.errors).toEqual([]);
      expect(report.ops).toBeGreaterThan(0);
      expect(seen.states.has('Migrating')).toBe(true);
      expect(seen.migrating).toBeGreaterThan(0);
      // 3 → 5 and 5 → 3 both move the share of two masters of five (the spread is even within 1 %).
      expect(moved).toBeGreaterThanOrEqual(2 * (Math.floor(SLOTS / 5) - evenWithin(5)));
      expect(seen.undrainedWhenLowered).toEqual([]);
      expect(seen.replicas.at(-1)).toBe(step.pods);
      if (step.pods < before) expect(seen.replicas).toEqual([before, step.pods]);
      const r = await redisStatus();
      const keepers = r?.shards?.map((s) => ordinalOf(s.master)).sort((a, b) => a - b) ?? [];
      expect(keepers.every((o) => o < step.pods)).toBe(true);
      for (const n of runningPodNames()) expect((await admin.clusterInfo(podAddr(n))).knownNodes, n).toBe(step.pods);
      expect(await missingKeys(c, PREFIX, KEYS)).toEqual([]);
    } finally {
      c.disconnect();
    }
  }, 420_000);

  // While a scale-out waits for the pods it asked the StatefulSet for, the cluster is progressing
  // (Migrating), not Degraded: Degraded is kept for faults (lifecycle-plan.ts, `joining`).
  it('reports a scale-out that waits for its new pods as progressing, never Degraded', () => {
    expect(scaleOutDegraded).not.toBeNull();
    expect(scaleOutDegraded).toEqual([]);
  });

  it('comes back Healthy with every key after all Redis processes restarted at once on new addresses', async () => {
    const before = new Map(runningPodNames().map((n) => [n, agent.podIP(n, ns)]));
    const repairsBefore = metricValue(await metrics(), 'imgroup_operator_redis_repairs_total{kind="meet"}');
    const startedAt = Date.now();
    await agent.restartAll({ newAddresses: true });
    for (const [n, ip] of before) expect(agent.podIP(n, ns), n).not.toBe(ip);
    await waitFor('pods Ready on their new addresses', async () => {
      const pods = await redisPods();
      return pods.length === 6 && pods.every((p) => isReady(p) && p.status?.podIP === agent.podIP(p.metadata?.name ?? '', ns));
    }, 60_000);
    await waitFor('Healthy after the restart on new addresses', async () => {
      if (!(await settled(3, 6)())) return false;
      for (const n of runningPodNames()) {
        const info = await admin.clusterInfo(podAddr(n));
        if (info.state !== 'ok' || info.knownNodes !== 6) return false;
      }
      return true;
    }, 120_000);
    console.log(`restart of all 6 Redis processes on new addresses: Healthy again after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    expect(metricValue(await metrics(), 'imgroup_operator_redis_repairs_total{kind="meet"}')).toBeGreaterThan(repairsBefore);
    await expectEveryKey();
  }, 240_000);

  it('a master down: its replica takes over, the operator reports Degraded, then Healthy with the old master back as a replica', async () => {
    const r = await redisStatus();
    const shard = r?.shards?.[0];
    const victim = shard?.master ?? '';
    const heir = shard?.replicas?.[0] ?? '';
    expect(victim).toMatch(new RegExp(`^${STS}-\\d$`));
    expect(heir).toMatch(new RegExp(`^${STS}-\\d$`));
    const startedAt = Date.now();
    // SIGKILL and keep it down: a kill the kubelet restarts within the node timeout is no failover.
    await agent.holdDown(victim, { namespace: ns, graceMs: 0 });
    let sawDegradedCondition = false;
    await waitFor(`Degraded with ${heir} serving ${victim}'s slots`, async () => {
      const s = await status();
      if (s.conditions?.some((c) => c.type === 'Degraded' && c.status === 'True')) sawDegradedCondition = true;
      return s.redis?.state === 'Degraded' && (s.redis.shards ?? []).some((sh) => sh.master === heir);
    }, 60_000);
    const failedOverAfter = (Date.now() - startedAt) / 1000;
    expect(sawDegradedCondition || (await status()).conditions?.some((c) => c.type === 'Degraded' && c.status === 'True')).toBe(true);
    await agent.bringUp(victim, { namespace: ns });
    await waitFor(`Healthy with ${victim} back as ${heir}'s replica`, async () => {
      if (!(await settled(3, 6)())) return false;
      const sh = (await redisStatus())?.shards?.find((s) => s.master === heir);
      return sh?.replicas?.includes(victim) ?? false;
    }, 120_000);
    console.log(`master ${victim} down: ${heir} took over, Degraded reported after ${failedOverAfter.toFixed(1)} s; Healthy again ${((Date.now() - startedAt) / 1000).toFixed(1)} s after the kill`);
    const me = (await nodesSeenBy(victim)).find((n) => n.flags.has('myself'));
    expect(me?.role).toBe('replica');
    expect((await status()).conditions?.find((c) => c.type === 'Degraded')?.status).not.toBe('True');
    await expectEveryKey();
  }, 240_000);

  it('an operator restarted in the middle of a migration (3 → 4 masters) resumes and finishes without losing keys', async () => {
    const c = client();
    try {
      const traffic = concurrentTraffic(c, PREFIX, KEYS, 'resume');
      let report: TrafficReport;
      let stoppedAt: RedisClusterStatus | undefined;
      let newcomerSlotsAtStop = 0;
      let movedBySecond = 0;
      try {
        await setMasters(4);
        await waitFor('slots moving (Migrating with slots moved)', async () => {
          const r = await redisStatus();
          return r?.state === 'Migrating' && (r.migration?.slotsMoved ?? 0) > 0;
        }, 180_000, 50);
        await stopTheOperator();
        stoppedAt = await redisStatus();
        // What the cluster says when the first operator is gone: the new masters hold part of their share.
        for (const n of await nodesSeenBy(`${STS}-0`)) if (ordinalOf(n.hostname ?? '') >= 6 && n.role === 'master') newcomerSlotsAtStop += countSlots(n.slots);
        await startTheOperator('second');
        await waitFor('Healthy with 4 even shards after the restart', settled(4, 8), 300_000);
        movedBySecond = metricValue(await metrics(), 'imgroup_operator_redis_migrations_total');
      } finally {
        report = await traffic.stop();
      }
      console.log(
        `operator restarted mid-migration (status then ${JSON.stringify(stoppedAt?.migration)}; new masters held ${newcomerSlotsAtStop} of ${SLOTS / 4} slots): ` +
          `the second operator moved ${movedBySecond} slots; concurrent client: ${report.ops} ops, ${report.errorCount} errors`,
      );
      expect(newcomerSlotsAtStop).toBeLessThan(SLOTS / 4);
      expect(movedBySecond).toBeGreaterThan(0);
      expect(report.errors).toEqual([]);
      expect(await missingKeys(c, PREFIX, KEYS)).toEqual([]);
    } finally {
      c.disconnect();
    }
  }, 480_000);
});

interface ScaleWatch {
  states: Set<string>;
  /** status.redis.message of the first distinct Degraded samples. */
  degradedWhy: string[];
  migrating: number;
  maxSlotsMoved: number;
  /** Distinct spec.replicas of N-redis, in the order seen. */
  replicas: number[];
  undrainedWhenLowered: string[];
}

/** A sample's value in a Prometheus text exposition (`name` with labels, if any); 0 when absent. */
function metricValue(text: string, name: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
  }
  return 0;
}
