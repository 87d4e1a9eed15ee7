/**
 * Issue 12 §5, rotating the auth Secret by hand, on the real API server with the operator (the
 * controller, in process): an edit of jwt-secret and admin-token in N-auth changes the gate pod
 * template (so the StatefulSet rolls the gates) and nothing of N-logic or N-redis; a gate started
 * as the rolled pod would be — its JWT secret and admin token resolved from the live template's
 * secretKeyRefs against the edited Secret, a real `imgroup gate` process — refuses a token signed
 * with the old secret (HTTP 401 on the WebSocket upgrade) and the old admin token (401
 * UNAUTHORIZED), and accepts new ones. An edit of internal-token is not rolled: the operator holds
 * the gates and reports SecretsApplied=False until the rotation is acknowledged.
 *
 * No kube-controller-manager or kubelet runs here, so "the gates roll" is asserted as the
 * StatefulSet's template change that makes the StatefulSet controller roll them.
 */
import { randomBytes } from 'node:crypto';
import type { V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, type ImGroupCluster, PLURAL, VERSION } from '../../../operator/api/v1alpha1.js';
import { ImGroupController } from '../../../operator/controller/controller.js';
import { AUTH_SECRET_KEYS } from '../../../operator/desired/auth-secret.js';
import { authSecretValues, GATE_SECRETS_ANNOTATION, gateSecretsHash, SHARED_SECRETS_ANNOTATION, sharedSecretsHash } from '../../../operator/desired/secret-rollout.js';
import { signToken } from '../../../runtime/auth/token-signer.js';
import { MERGE_PATCH } from '../../support/node-agent/agent-api.js';
import { createNamespace, eventually, installCrd, type KubeClients, kubeClients, quietLogger } from '../../support/operator-fixture.js';
import { RawClient } from '../../support/raw-client.js';
import { TestSystem } from '../../support/system.js';

const SPEC = { gate: { replicas: 2 }, logic: { replicas: 2 }, redis: { masters: 3, replicasPerMaster: 0 } };
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const fresh = () => randomBytes(36).toString('base64url');

describe('rotating the auth Secret by hand', () => {
  let k: KubeClients;
  let ns: string;
  let controller: ImGroupController;
  let sys: TestSystem;

  const sts = (name: string): Promise<V1StatefulSet> => k.apps.readNamespacedStatefulSet({ namespace: ns, name });
  const secret = (): Promise<V1Secret> => k.core.readNamespacedSecret({ namespace: ns, name: 'chat-auth' });
  const values = async () => {
    const read = authSecretValues(await secret());
    if (!read.ok) throw new Error(`chat-auth lacks ${read.missing.join(', ')}`);
    return read.values;
  };
  const gateHashOf = async () => (await sts('chat-gate')).spec?.template.metadata?.annotations?.[GATE_SECRETS_ANNOTATION];
  const condition = async () => {
    const c = (await k.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'chat' })) as ImGroupCluster;
    return c.status?.conditions?.find((x) => x.type === 'SecretsApplied');
  };
  const editSecret = (data: Record<string, string>) =>
    k.core.patchNamespacedSecret({ namespace: ns, name: 'chat-auth', body: { data: Object.fromEntries(Object.entries(data).map(([key, v]) => [key, b64(v)])) } }, MERGE_PATCH);

  /** A gate configured as a pod of the live N-gate: its secrets resolved from the template's secretKeyRefs. */
  async function startGateAsRolledPod(name: string) {
    const container = (await sts('chat-gate')).spec?.template.spec?.containers[0];
    const live = await secret();
    const resolve = (env: string): string => {
      const ref = container?.env?.find((e) => e.name === env)?.valueFrom?.secretKeyRef;
      expect(ref?.name, `${env} comes from the auth Secret`).toBe('chat-auth');
      return Buffer.from(live.data?.[ref?.key as string] ?? '', 'base64').toString('utf8');
    };
    return sys.startGate(name, { IMGROUP_JWT_SECRET: resolve('IMGROUP_JWT_SECRET'), IMGROUP_ADMIN_TOKEN: resolve('IMGROUP_ADMIN_TOKEN') });
  }

  const adminStatus = async (httpUrl: string, token: string) =>
    (await fetch(`${httpUrl}/v1/groups/rotation-probe/members`, { headers: { authorization: `Bearer ${token}` } })).status;

  beforeAll(async () => {
    k = kubeClients(inject('kubeconfig'));
    await installCrd(k);
    ns = await createNamespace(k, 'rot');
    controller = new ImGroupController({ kc: k.kc, namespace: ns, log: quietLogger(), registry: new Registry() });
    await controller.start();
    await eventually('informers synced', async () => controller.readiness() === null);
    await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ImGroupCluster', metadata: { name: 'chat' }, spec: SPEC } });
    await eventually('N-auth and the StatefulSets with their fingerprints', async () => {
      try {
        const v = await values();
        return (await gateHashOf()) === gateSecretsHash(v) && (await sts('chat-logic')).metadata?.annotations?.[SHARED_SECRETS_ANNOTATION] === sharedSecretsHash(v);
      } catch {
        return false;
      }
    });
    sys = new TestSystem({ redisSeeds: inject('redisSeeds'), logic: 1, gates: 0 });
    await sys.start();
  }, 180_000);

  afterAll(async () => {
    await sys?.stop();
    await controller?.stop();
  });

  it('an edit of jwt-secret and admin-token rolls the gates only; old tokens are refused afterwards, new ones accepted', async () => {
    const before = await values();
    const [logicBefore, redisBefore, gateBefore] = await Promise.all([sts('chat-logic'), sts('chat-redis'), sts('chat-gate')]);
    const oldGate = await startGateAsRolledPod('gate-before');
    const oldToken = await signToken(before.jwtSecret, 'alice', 3600);
    (await RawClient.connect(oldGate.wsUrl, oldToken)).ws.close();

    const jwtSecret = fresh();
    const adminToken = fresh();
    const t0 = performance.now();
    await editSecret({ [AUTH_SECRET_KEYS.jwtSecret]: jwtSecret, [AUTH_SECRET_KEYS.adminToken]: adminToken });
    const after = { ...before, jwtSecret, adminToken };
    await eventually('the gate pod template carries the new fingerprint', async () => (await gateHashOf()) === gateSecretsHash(after), 30_000, 20);
    // A measurement, not asserted: the Secret informer's event → reconcile → apply.
    console.log(`Secret edit → gate template changed after ${Math.round(performance.now() - t0)} ms`);

    const [logicAfter, redisAfter, gateAfter] = await Promise.all([sts('chat-logic'), sts('chat-redis'), sts('chat-gate')]);
    expect(gateAfter.metadata?.generation).toBeGreaterThan(gateBefore.metadata?.generation ?? 0);
    expect({ ...gateAfter.spec?.template, metadata: { ...gateAfter.spec?.template.metadata, annotations: {} } }).toEqual({ ...gateBefore.spec?.template, metadata: { ...gateBefore.spec?.template.metadata, annotations: {} } });
    expect(logicAfter.metadata?.generation).toBe(logicBefore.metadata?.generation);
    expect(logicAfter.spec?.template).toEqual(logicBefore.spec?.template);
    expect(redisAfter.metadata?.generation).toBe(redisBefore.metadata?.generation);
    expect(redisAfter.spec?.template).toEqual(redisBefore.spec?.template);
    expect(await condition()).toMatchObject({ status: 'True', reason: 'Applied' });

    const rolled = await startGateAsRolledPod('gate-rolled');
    await expect(RawClient.connect(rolled.wsUrl, oldToken)).rejects.toThrow('HTTP 401');
    const client = await RawClient.connect(rolled.wsUrl, await signToken(jwtSecret, 'alice', 3600));
    client.ws.close();
    expect(await adminStatus(rolled.httpUrl, before.adminToken)).toBe(401);
    expect(await adminStatus(rolled.httpUrl, adminToken)).toBe(200);
  });

  it('an edit of internal-token rolls nothing, holds the gates and says so until the rotation is acknowledged', async () => {
    const before = await values();
    await eventually('the gates follow the Secret', async () => (await gateHashOf()) === gateSecretsHash(before));
    const [logicBefore, redisBefore] = await Promise.all([sts('chat-logic'), sts('chat-redis')]);
    const heldGateHash = await gateHashOf();

    // internal-token and jwt-secret together: the gates must not roll either (a new gate would
    // start with the new internal token, which the running logic nodes refuse).
    const next = { ...before, internalToken: fresh(), jwtSecret: fresh() };
    await editSecret({ [AUTH_SECRET_KEYS.internalToken]: next.internalToken, [AUTH_SECRET_KEYS.jwtSecret]: next.jwtSecret });
    await eventually('SecretsApplied=False', async () => (await condition())?.reason === 'SharedSecretChanged');
    expect(await condition()).toMatchObject({ status: 'False', message: expect.stringContaining(`kubectl annotate statefulset chat-logic ${SHARED_SECRETS_ANNOTATION}-`) });
    expect(await gateHashOf()).toBe(heldGateHash);
    const [logicHeld, redisHeld] = await Promise.all([sts('chat-logic'), sts('chat-redis')]);
    expect(logicHeld.metadata?.generation).toBe(logicBefore.metadata?.generation);
    expect(logicHeld.metadata?.annotations?.[SHARED_SECRETS_ANNOTATION]).toBe(sharedSecretsHash(before));
    expect(redisHeld.metadata?.generation).toBe(redisBefore.metadata?.generation);

    // The pods were restarted by hand (README "Rotating secrets"); the acknowledgement:
    await k.apps.patchNamespacedStatefulSet({ namespace: ns, name: 'chat-logic', body: { metadata: { annotations: { [SHARED_SECRETS_ANNOTATION]: null } } } }, MERGE_PATCH);
    await eventually('SecretsApplied=True', async () => (await condition())?.status === 'True');
    await eventually('the gates follow the new jwt-secret', async () => (await gateHashOf()) === gateSecretsHash(next));
    expect((await sts('chat-logic')).metadata?.annotations?.[SHARED_SECRETS_ANNOTATION]).toBe(sharedSecretsHash(next));
    expect((await sts('chat-logic')).spec?.template).toEqual(logicBefore.spec?.template);
  });
});
