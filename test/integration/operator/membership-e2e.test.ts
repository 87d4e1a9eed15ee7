/**
 * Issue 4 §4 end to end on the real control plane: the operator (the controller, in process) owns
 * an ImGroupCluster; logic Pod objects, created as the StatefulSet would and made Ready through
 * the status subresource as a kubelet would, point at three real `imgroup logic` processes; the
 * operator publishes N-membership; a real `imgroup gate` with a token of the gate ServiceAccount
 * the operator created watches it and routes by it. Each pod change must reach the gate's routing:
 * a message to a group the new ring gives to the changed member is stored by exactly that node.
 * The time from each pod change to the gate's "membership applied" is printed (not asserted: speed
 * belongs in the benchmark; the controller test asserts the operator's own p99).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../../operator/api/v1alpha1.js';
import { ImGroupController } from '../../../operator/controller/controller.js';
import { buildMembership, sortMembers } from '../../../runtime/protocol/membership.js';
import { serviceAccountToken, startConfigMapGate } from '../../support/configmap-gate.js';
import { createLogicPod, createNamespace, eventually, installCrd, type KubeClients, kubeClients, quietLogger, setPodReady } from '../../support/operator-fixture.js';
import { RawClient } from '../../support/raw-client.js';
import { groupOwnedBy, storingLogic } from '../../support/routing-probe.js';
import { type GateHandle, type LogicHandle, metricValue, TestSystem } from '../../support/system.js';

const SPEC = { gate: { replicas: 1 }, logic: { replicas: 3 }, redis: { masters: 3, replicasPerMaster: 1 } };
const uid = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;

describe('operator → N-membership → a real gate with the gate ServiceAccount', () => {
  let k: KubeClients;
  let ns: string;
  let controller: ImGroupController;
  let sys: TestSystem;
  let gate: GateHandle;
  let alice: RawClient;
  const aliceId = uid('alice');
  const ready = new Set<number>();
  const figures: string[] = [];

  const logic = (i: number) => sys.logic[i] as LogicHandle;

  /** The gate log's time of "membership applied" for `version`, at or after `sinceMs`. */
  function appliedAt(version: string, sinceMs: number): number | undefined {
    for (const line of readFileSync(gate.process.opts.logFile as string, 'utf8').split('\n')) {
      if (!line.includes('membership applied') || !line.includes(version)) continue;
      try {
        const e = JSON.parse(line) as { msg?: string; time?: number; version?: string };
        if (e.msg === 'membership applied' && e.version === version && (e.time ?? 0) >= sinceMs) return e.time;
      } catch {
        // a partial line
      }
    }
    return undefined;
  }



  /** Flip pod `i`, wait until the gate applied the resulting member list, check routing to it. */
  async function flip(i: number, nowReady: boolean): Promise<void> {
    if (nowReady) ready.add(i);
    else ready.delete(i);
    const members = [...ready].sort().map((j) => `chat-logic-${j}`);
    // The document the operator must publish: those pods, at the port each declares.
    const version = buildMembership(sortMembers([...ready].map((j) => ({ id: `chat-logic-${j}`, url: logic(j).internalUrl })))).version;
    const t0 = Date.now();
    await setPodReady(k, ns, `chat-logic-${i}`, '127.0.0.1', nowReady);
    await eventually(`gate applied [${members.join(',')}] (${version})`, async () => appliedAt(version, t0) !== undefined, 30_000, 20);
    figures.push(`chat-logic-${i} ${nowReady ? 'Ready' : 'not Ready'} → gate applied [${members.join(',')}] after ${(appliedAt(version, t0) as number) - t0} ms`);
    for (const owner of members) {
      expect(await storingLogic(sys, alice, await groupOwnedBy(sys, owner, members, [aliceId]))).toBe(owner);
    }
  }

  beforeAll(async () => {
    k = kubeClients(inject('kubeconfig'));
    await installCrd(k);
    ns = await createNamespace(k, 'e2e');
    controller = new ImGroupController({ kc: k.kc, namespace: ns, log: quietLogger(), registry: new Registry() });
    await controller.start();
    await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'chat' }, spec: SPEC } });
    await eventually('the operator created the gate ServiceAccount and the membership ConfigMap', async () => {
      const [sa, cm] = await Promise.all([
        k.core.readNamespacedServiceAccount({ namespace: ns, name: 'chat-gate' }).then(() => true, () => false),
        k.core.readNamespacedConfigMap({ namespace: ns, name: 'chat-membership' }).then(() => true, () => false),
      ]);
      return sa && cm;
    });

    sys = new TestSystem({ redisSeeds: inject('redisSeeds'), logic: 3, gates: 0 });
    for (const i of [0, 1, 2]) {
      const l = await sys.startLogic(`chat-logic-${i}`);
      await createLogicPod(k, ns, 'chat', i, l.port);
    }
    // Two members before the gate starts (a gate is ready once it reaches a logic node).
    for (const i of [0, 1]) {
      ready.add(i);
      await setPodReady(k, ns, `chat-logic-${i}`, '127.0.0.1', true);
    }
    gate = await startConfigMapGate({ sys, k, redisSeeds: inject('redisSeeds'), configMap: `${ns}/chat-membership`, token: await serviceAccountToken(k, ns, 'chat-gate') });
    alice = await RawClient.connect(gate.wsUrl, await sys.token(aliceId));
    sys.track(alice.ws);
  }, 180_000);

  afterAll(async () => {
    if (figures.length > 0) console.log(`pod change → gate routing by the new membership (issue 4 asks ≤ 1 s):\n  ${figures.join('\n  ')}`);
    await controller?.stop();
    await sys?.stop();
    if (ns) await k.core.deleteNamespace({ name: ns }).catch(() => undefined);
  }, 60_000);

  it('follows logic pods becoming Ready and not Ready, routing each group to its new owner', async () => {
    await flip(2, true);
    expect(logic(2).name).toBe('chat-logic-2');
    await flip(0, false);
    await flip(0, true);
    await flip(1, false);
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);
    expect(metricValue(await sys.metrics(gate), 'imgroup_gate_connections')).toBe(1);
  }, 180_000);
});
