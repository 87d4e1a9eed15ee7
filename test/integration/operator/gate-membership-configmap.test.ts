/**
 * A real `imgroup gate` process reading the logic membership from the ConfigMap N-membership
 * through the real API server, with a token of the gate ServiceAccount the operator defines
 * (operator/desired/gate-access.ts, applied as is), and three real `imgroup logic` processes as
 * the members. The gate's kubeconfig points at a loopback TCP proxy in front of the API server,
 * so the test can make the API unreachable or freeze the watch connection as a half-open
 * connection would.
 *
 * Checked: the Role is enough (get/list/watch of that one name) and not more (403 for any other
 * ConfigMap, a list or watch without the field selector, Secrets, writes); the gate applies every
 * new version (its /metrics and its log say which), routes by the new member set, keeps client
 * connections open; an invalid document, a missing key and a deleted ConfigMap are counted and
 * the old membership stays; a frozen watch is restarted by the watchdog; with the API server
 * unreachable the gate keeps serving and catches up when it is back. The time from each
 * ConfigMap write to the gate's "membership applied" is printed (not asserted: speed belongs in
 * the benchmark).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type KubernetesObject, type V1ConfigMap, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, type ImGroupCluster, PLURAL, VERSION } from '../../../operator/api/v1alpha1.js';
import { clusterContext } from '../../../operator/desired/cluster-context.js';
import { desiredGateRole, desiredGateRoleBinding, desiredGateServiceAccount } from '../../../operator/desired/gate-access.js';
import { desiredMembershipConfigMap } from '../../../operator/desired/membership-configmap.js';
import { MEMBERSHIP_KEY } from '../../../operator/desired/runtime-env.js';
import { buildMembership, type MembershipDocument } from '../../../runtime/protocol/membership.js';
import { HashRing } from '../../../runtime/routing/hash-ring.js';
import { serviceAccountToken, startConfigMapGate } from '../../support/configmap-gate.js';
import { readKubeconfigAuth } from '../../support/control-plane.js';
import { createNamespace, eventually, installCrd, type KubeClients, kubeClients } from '../../support/operator-fixture.js';
import { RawClient } from '../../support/raw-client.js';
import { groupOwnedBy, storingLogic } from '../../support/routing-probe.js';
import { type GateHandle, type LogicHandle, metricValue, TestSystem } from '../../support/system.js';

const MINIMAL = { gate: { replicas: 1 }, logic: { replicas: 3 }, redis: { masters: 3, replicasPerMaster: 1 } };
/** The gate's watchdog bound in this test: short, so a frozen watch is restarted within seconds. */
const STALL_MS = 3000;
const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;

/**
 * A loopback TCP proxy in front of the API server. `freeze` stops forwarding on the connections
 * open now (a half-open connection: nothing arrives, nothing fails) while new ones pass; `refuse`
 * cuts every connection and refuses new ones (the API server is unreachable); `pass` undoes it.
 */
class ApiProxy {
  private mode: 'pass' | 'refuse' = 'pass';
  private readonly pairs = new Set<[Socket, Socket]>();
  private readonly server: Server;
  port = 0;

  constructor(private readonly upstream: URL) {
    this.server = createServer((client) => {
      if (this.mode === 'refuse') {
        client.destroy();
        return;
      }
      const up = netConnect(Number(this.upstream.port), this.upstream.hostname);
      const pair: [Socket, Socket] = [client, up];
      this.pairs.add(pair);
      const drop = () => {
        client.destroy();
        up.destroy();
        this.pairs.delete(pair);
      };
      client.on('error', drop).on('close', drop);
      up.on('error', drop).on('close', drop);
      client.pipe(up);
      up.pipe(client);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  get connections(): number {
    return this.pairs.size;
  }

  freeze(): number {
    for (const [client, up] of this.pairs) {
      client.unpipe(up);
      up.unpipe(client);
      client.pause();
      up.pause();
      client.removeAllListeners('close');
      up.removeAllListeners('close');
    }
    const frozen = this.pairs.size;
    this.frozen.push(...this.pairs);
    this.pairs.clear();
    return frozen;
  }

  private readonly frozen: Array<[Socket, Socket]> = [];

  refuse(): void {
    this.mode = 'refuse';
    for (const [client, up] of this.pairs) {
      client.destroy();
      up.destroy();
    }
    this.pairs.clear();
  }

  pass(): void {
    this.mode = 'pass';
  }

  async close(): Promise<void> {
    this.refuse();
    for (const [client, up] of this.frozen) {
      client.destroy();
      up.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('a real gate reading its membership from the ConfigMap through the API', () => {
  let k: KubeClients;
  let ns: string;
  let cluster: ImGroupCluster;
  let cmName: string;
  let token: string;
  let proxy: ApiProxy;
  let sys: TestSystem;
  let gate: GateHandle;
  let alice: RawClient;
  const aliceId = uid('alice');
  /** Measured delays to the gate's "membership applied", printed at the end. */
  const figures: Array<{ change: string; ms: number; from: string }> = [];

  const logic = (i: number) => sys.logic[i] as LogicHandle;
  const docOf = (...members: LogicHandle[]) => buildMembership(members.map((l) => ({ id: l.name, url: l.internalUrl })));
  const gateMetric = async (name: string, labels: Record<string, string> = {}) => metricValue(await sys.metrics(gate), name, labels);

  /**
   * The time (pino `time`, ms) of the gate's first "membership applied" log line for `version` at
   * or after `sinceMs` (a version comes back when a member list does), if any.
   */
  function appliedAt(version: string, sinceMs: number): number | undefined {
    let text: string;
    try {
      text = readFileSync(gate.process.opts.logFile as string, 'utf8');
    } catch {
      return undefined;
    }
    for (const line of text.split('\n')) {
      if (!line.includes('membership applied') || !line.includes(version)) continue;
      try {
        const entry = JSON.parse(line) as { msg?: string; version?: string; time?: number };
        if (entry.msg === 'membership applied' && entry.version === version && (entry.time ?? 0) >= sinceMs) return entry.time;
      } catch {
        // a partial line
      }
    }
    return undefined;
  }

  function gateLogCount(fragment: string): number {
    return readFileSync(gate.process.opts.logFile as string, 'utf8')
      .split('\n')
      .filter((l) => l.includes(fragment)).length;
  }

  async function writeMembership(doc: MembershipDocument): Promise<{ startedMs: number; ackedMs: number }> {
    const body = desiredMembershipConfigMap(cluster, doc);
    const startedMs = Date.now();
    try {
      await k.core.replaceNamespacedConfigMap({ namespace: ns, name: cmName, body });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await k.core.createNamespacedConfigMap({ namespace: ns, body });
    }
    return { startedMs, ackedMs: Date.now() };
  }

  async function writeRaw(data: Record<string, string>): Promise<void> {
    const current = await k.core.readNamespacedConfigMap({ namespace: ns, name: cmName });
    await k.core.replaceNamespacedConfigMap({ namespace: ns, name: cmName, body: { ...current, data } });
  }

  /** Write `doc` and wait until the gate applied it (its /metrics), recording the time the gate logged. */
  async function changeTo(change: string, doc: MembershipDocument): Promise<void> {
    const { startedMs, ackedMs } = await writeMembership(doc);
    await waitApplied(doc.version, startedMs);
    const at = appliedAt(doc.version, startedMs) as number;
    expect(at).toBeGreaterThan(0);
    figures.push({ change, ms: at - startedMs, from: `the write request (${at - ackedMs} ms after its answer)` });
  }

  async function waitApplied(version: string, sinceMs: number, timeoutMs = 30_000): Promise<void> {
    await eventually(`gate applied membership ${version}`, async () => (await gateMetric('imgroup_gate_membership_version_info', { version })) === 1, timeoutMs, 20);
    await eventually(`gate logged membership ${version}`, async () => appliedAt(version, sinceMs) !== undefined, 5000, 20);
  }

  async function waitLinksUp(n: number): Promise<void> {
    await eventually(`${n} logic links up`, async () => (await gateMetric('imgroup_gate_logic_links_up')) === n, 30_000, 50);
  }



  beforeAll(async () => {
    k = kubeClients(inject('kubeconfig'));
    await installCrd(k);
    ns = await createNamespace(k, 'gcm');
    // The cluster object exists (owner of the RBAC objects, so the garbage collector keeps them);
    // no operator runs here: the test writes the ConfigMap itself.
    cluster = (await k.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'chat' }, spec: MINIMAL },
    })) as ImGroupCluster;
    const ctx = clusterContext(cluster);
    cmName = ctx.names.membership;
    for (const obj of [desiredGateServiceAccount(cluster), desiredGateRole(cluster), desiredGateRoleBinding(cluster)]) {
      await k.objects.create(obj as KubernetesObject);
    }
    token = await serviceAccountToken(k, ns, ctx.names.gateAccess);
    expect(token).toMatch(/^ey/);

    sys = new TestSystem({ redisSeeds: inject('redisSeeds'), logic: 3, gates: 0 });
    await Promise.all([0, 1, 2].map((i) => sys.startLogic(`logic-${i}`)));
    await writeMembership(docOf(logic(0), logic(1)));

    const admin = readKubeconfigAuth(k.kubeconfigPath);
    proxy = new ApiProxy(new URL(admin.server));
    await proxy.listen();
    gate = await startConfigMapGate({ sys, k, redisSeeds: inject('redisSeeds'), configMap: `${ns}/${cmName}`, token, server: `https://127.0.0.1:${proxy.port}`, stallMs: STALL_MS });
    alice = await RawClient.connect(gate.wsUrl, await sys.token(aliceId));
    sys.track(alice.ws);
  }, 180_000);

  afterAll(async () => {
    if (figures.length > 0) {
      console.log(
        `ConfigMap change → gate applied it (gate log time; the issue asks for ≤ 1 s):\n${figures
          .map((f) => `  ${f.change.padEnd(44)} ${String(f.ms).padStart(5)} ms after ${f.from}`)
          .join('\n')}`,
      );
    }
    await sys?.stop();
    await proxy?.close();
    if (ns) await k.core.deleteNamespace({ name: ns }).catch(() => undefined);
  }, 60_000);

  it('the gate ServiceAccount token may get, list and watch N-membership by name, and nothing more', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(join(sys.dir, 'gate-0-kubeconfig'));
    const core = kc.makeApiClient(CoreV1Api);
    await k.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'other' }, data: { a: 'b' } } });
    await k.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'chat-auth' }, stringData: { jwtSecret: 'x' } } });
    const status = async (call: () => Promise<unknown>): Promise<number> => {
      try {
        await call();
        return 200;
      } catch (err) {
        return (err as { code?: number }).code ?? -1;
      }
    };
    const watchStatus = (fieldSelector?: string): Promise<number> =>
      new Promise((resolve) => {
        void new Watch(kc)
          .watch(`/api/v1/namespaces/${ns}/configmaps`, fieldSelector ? { fieldSelector } : {}, () => undefined, (err) => {
            if (err) resolve((err as { statusCode?: number }).statusCode ?? -1);
          })
          .then((ctrl) => {
            resolve(200);
            ctrl.abort();
          });
      });

    const allowed = {
      get: await status(() => core.readNamespacedConfigMap({ namespace: ns, name: cmName })),
      list: await status(() => core.listNamespacedConfigMap({ namespace: ns, fieldSelector: `metadata.name=${cmName}` })),
      watch: await watchStatus(`metadata.name=${cmName}`),
    };
    expect(allowed).toEqual({ get: 200, list: 200, watch: 200 });

    const forbidden = {
      getOtherConfigMap: await status(() => core.readNamespacedConfigMap({ namespace: ns, name: 'other' })),
      listOtherByName: await status(() => core.listNamespacedConfigMap({ namespace: ns, fieldSelector: 'metadata.name=other' })),
      listWithoutSelector: await status(() => core.listNamespacedConfigMap({ namespace: ns })),
      watchWithoutSelector: await watchStatus(),
      listAllNamespaces: await status(() => core.listConfigMapForAllNamespaces({ fieldSelector: `metadata.name=${cmName}` })),
      getSecret: await status(() => core.readNamespacedSecret({ namespace: ns, name: 'chat-auth' })),
      listSecrets: await status(() => core.listNamespacedSecret({ namespace: ns })),
      updateMembership: await status(async () => core.replaceNamespacedConfigMap({ namespace: ns, name: cmName, body: await k.core.readNamespacedConfigMap({ namespace: ns, name: cmName }) })),
      deleteMembership: await status(() => core.deleteNamespacedConfigMap({ namespace: ns, name: cmName })),
      createConfigMap: await status(() => core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'mine' } } })),
      listPods: await status(() => core.listNamespacedPod({ namespace: ns })),
    };
    expect(forbidden).toEqual(Object.fromEntries(Object.keys(forbidden).map((key) => [key, 403])));
  });

  /** Make `doc` the gate's current membership (each test starts from the state it names). */
  async function startFrom(doc: MembershipDocument, links: number): Promise<void> {
    await writeMembership(doc);
    await waitApplied(doc.version, 0);
    await waitLinksUp(links);
  }

  it('applies the first version at start and routes by it', async () => {
    const first = docOf(logic(0), logic(1));
    // The version written before the gate started is the first it applied, whatever ran since.
    const firstApplied = () => appliedAt(first.version, 0);
    await eventually('the gate logged the first version', async () => firstApplied() !== undefined);
    const otherVersions = [docOf(logic(0), logic(1), logic(2)), docOf(logic(1), logic(2)), docOf(logic(0), logic(2))].map((d) => appliedAt(d.version, 0));
    for (const at of otherVersions) if (at !== undefined) expect(at).toBeGreaterThanOrEqual(firstApplied() as number);
    await startFrom(first, 2);
    const g = await groupOwnedBy(sys, 'logic-1', ['logic-0', 'logic-1'], [aliceId]);
    expect(await storingLogic(sys, alice, g, 'first')).toBe('logic-1');
  });

  it('follows an added and a removed logic member, routing to the new set, the client connection open throughout', async () => {
    await startFrom(docOf(logic(0), logic(1)), 2);
    const opened = await gateMetric('imgroup_gate_connections_opened_total');
    await changeTo('add logic-2', docOf(logic(0), logic(1), logic(2)));
    await waitLinksUp(3);
    const onNew = await groupOwnedBy(sys, 'logic-2', ['logic-0', 'logic-1', 'logic-2'], [aliceId]);
    expect(await storingLogic(sys, alice, onNew, 'to-new-member')).toBe('logic-2');

    // A group logic-0 owns now moves to its owner among the remaining two when logic-0 leaves.
    const moving = await groupOwnedBy(sys, 'logic-0', ['logic-0', 'logic-1', 'logic-2'], [aliceId]);
    expect(await storingLogic(sys, alice, moving, 'before-removal')).toBe('logic-0');
    await changeTo('remove logic-0', docOf(logic(1), logic(2)));
    await waitLinksUp(2);
    const newOwner = new HashRing(['logic-1', 'logic-2']).owner(moving) as string;
    expect(await storingLogic(sys, alice, moving, 'after-removal')).toBe(newOwner);

    await changeTo('add logic-0 back', docOf(logic(0), logic(1), logic(2)));
    await waitLinksUp(3);
    expect(await storingLogic(sys, alice, moving, 'back-on-logic-0')).toBe('logic-0');

    expect(alice.closed).toBeNull();
    expect(await gateMetric('imgroup_gate_connections_closed_total')).toBe(0);
    expect(await gateMetric('imgroup_gate_connections_opened_total')).toBe(opened);
    expect(await gateMetric('imgroup_gate_connections')).toBe(1);
  });

  it('keeps the current membership on an invalid document, a missing key and a deleted ConfigMap, counting each', async () => {
    const current = docOf(logic(0), logic(1), logic(2));
    await startFrom(current, 3);
    const g = await groupOwnedBy(sys, 'logic-2', ['logic-0', 'logic-1', 'logic-2'], [aliceId]);
    const errors = async () => gateMetric('imgroup_gate_membership_errors_total');
    const before = await errors();

    await writeRaw({ [MEMBERSHIP_KEY]: '{"version": "broken", "members": [' });
    await eventually('invalid document counted', async () => (await errors()) === before + 1, 30_000, 20);
    await writeRaw({ 'something-else.json': '{}' });
    await eventually('missing key counted', async () => (await errors()) === before + 2, 30_000, 20);
    await k.core.deleteNamespacedConfigMap({ namespace: ns, name: cmName });
    await eventually('deletion counted', async () => (await errors()) === before + 3, 30_000, 20);

    expect(await gateMetric('imgroup_gate_membership_version_info', { version: current.version })).toBe(1);
    expect(await storingLogic(sys, alice, g, 'while-deleted')).toBe('logic-2');

    await changeTo('ConfigMap created again (logic-1, logic-2)', docOf(logic(1), logic(2)));
    await waitLinksUp(2);
    expect(await errors()).toBe(before + 3);
    expect(alice.closed).toBeNull();
  });

  it('restarts a watch whose connection froze (watchdog) and then sees the next change', async () => {
    await startFrom(docOf(logic(1), logic(2)), 2);
    const stallsBefore = gateLogCount('membership watch silent for too long');
    await eventually('the gate watching through the proxy', async () => proxy.connections > 0, 10_000, 10);
    expect(proxy.freeze()).toBeGreaterThan(0);
    const next = docOf(logic(0), logic(2));
    const { startedMs } = await writeMembership(next);
    await waitApplied(next.version, startedMs, 4 * STALL_MS + 10_000);
    expect(gateLogCount('membership watch silent for too long')).toBeGreaterThan(stallsBefore);
    figures.push({ change: `written while the watch was frozen`, ms: (appliedAt(next.version, startedMs) as number) - startedMs, from: `the write request (watchdog bound ${STALL_MS} ms)` });
  });

  it('keeps serving while the API server is unreachable and catches up when it is back', async () => {
    const current = docOf(logic(0), logic(2));
    await startFrom(current, 2);
    const errorsBefore = await gateMetric('imgroup_gate_membership_errors_total');
    proxy.refuse();
    await eventually('the lost API connection counted', async () => (await gateMetric('imgroup_gate_membership_errors_total')) > errorsBefore, 30_000, 50);

    // Written while the gate cannot see it: nothing changes on the gate, which keeps serving.
    const next = docOf(logic(0), logic(1), logic(2));
    await writeMembership(next);
    const g = await groupOwnedBy(sys, 'logic-2', ['logic-0', 'logic-2'], [aliceId]);
    expect(await storingLogic(sys, alice, g, 'api-unreachable')).toBe('logic-2');
    expect(await gateMetric('imgroup_gate_membership_version_info', { version: current.version })).toBe(1);
    expect(await gateMetric('imgroup_gate_membership_version_info', { version: next.version })).toBe(0);
    const ready = await fetch(`${gate.opsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(proxy.connections).toBe(0);

    const backMs = Date.now();
    proxy.pass();
    await waitApplied(next.version, backMs);
    figures.push({ change: 'written while the API server was unreachable', ms: (appliedAt(next.version, backMs) as number) - backMs, from: 'the API server was reachable again' });
    await waitLinksUp(3);
    expect(alice.closed).toBeNull();
    expect(await gateMetric('imgroup_gate_connections_closed_total')).toBe(0);
  });
});
