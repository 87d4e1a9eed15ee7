import type { V1EnvVar } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { GATE_OPTIONS, resolveGateOptions } from '../../../../runtime/gate/config.js';
import { LOGIC_OPTIONS, resolveLogicOptions } from '../../../../runtime/logic/config.js';
import { desiredGateStatefulSet } from '../../../../operator/desired/gate-statefulset.js';
import { desiredLogicStatefulSet } from '../../../../operator/desired/logic-statefulset.js';
import { cluster, NAMESPACE, onlyContainer, resolveEnv, SECRET_VALUES, VARIANTS } from './cluster-fixture.js';
import { FULL_SPEC } from '../api/spec-fixtures.js';

/**
 * Env the gate gets before the runtime reads it: the ConfigMap membership source is added to the
 * gate by a later piece; until then the gate ignores it and reads the mounted file.
 */
const PENDING_GATE_ENV = new Set(['IMGROUP_MEMBERSHIP_CONFIGMAP']);

const gateEnv = (c = cluster()) => onlyContainer(desiredGateStatefulSet(c).spec?.template.spec?.containers).env as V1EnvVar[];
const logicEnv = (c = cluster()) => onlyContainer(desiredLogicStatefulSet(c).spec?.template.spec?.containers).env as V1EnvVar[];

describe.each(VARIANTS)('runtime env (%s)', (_name, c) => {
  it('gives gates only IMGROUP_* variables that are options of imgroup gate', () => {
    const known = new Set(GATE_OPTIONS.map((o) => o.env));
    const names = gateEnv(c).map((e) => e.name);
    expect(names.filter((n) => !known.has(n) && !PENDING_GATE_ENV.has(n))).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives logic nodes only IMGROUP_* variables that are options of imgroup logic', () => {
    const known = new Set(LOGIC_OPTIONS.map((o) => o.env));
    const names = logicEnv(c).map((e) => e.name);
    expect(names.filter((n) => !known.has(n))).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('is accepted by the gate\'s own option parsing in production mode', () => {
    const { options, warnings } = resolveGateOptions([], resolveEnv(gateEnv(c), 'chat-gate-1'));
    expect(warnings).toEqual([]);
    expect(options.mode).toBe('production');
    expect(options.name).toBe('chat-gate-1');
    expect(options.port).toBe(8080);
    expect(options.opsPort).toBe(9090);
    expect(options.jwtSecret).toBe(SECRET_VALUES['jwt-secret']);
    expect(options.adminToken).toBe(SECRET_VALUES['admin-token']);
    expect(options.internalToken).toBe(SECRET_VALUES['internal-token']);
    expect(options.redisPassword).toBe(SECRET_VALUES['redis-password']);
    expect(options.membershipFile).toBe('/etc/imgroup/membership/membership.json');
  });

  it('is accepted by the logic node\'s own option parsing in production mode', () => {
    const { options, warnings } = resolveLogicOptions([], resolveEnv(logicEnv(c), 'chat-logic-0'));
    expect(warnings).toEqual([]);
    expect(options.mode).toBe('production');
    expect(options.name).toBe('chat-logic-0');
    expect(options.port).toBe(8180);
    expect(options.opsPort).toBe(9190);
    expect(options.internalToken).toBe(SECRET_VALUES['internal-token']);
    expect(options.redisPassword).toBe(SECRET_VALUES['redis-password']);
  });

  it('seeds Redis with the stable DNS names of pods 0-2 of N-redis', () => {
    const expected = ['chat-redis-0', 'chat-redis-1', 'chat-redis-2'].map((p) => `${p}.chat-redis.${NAMESPACE}.svc:6379`);
    expect(resolveGateOptions([], resolveEnv(gateEnv(c), 'chat-gate-0')).options.redisSeeds).toEqual(expected);
    expect(resolveLogicOptions([], resolveEnv(logicEnv(c), 'chat-logic-0')).options.redisSeeds).toEqual(expected);
  });

  it('names the membership ConfigMap as <namespace>/<name> for gates', () => {
    expect(resolveEnv(gateEnv(c), 'g').IMGROUP_MEMBERSHIP_CONFIGMAP).toBe(`${NAMESPACE}/chat-membership`);
  });
});

describe('runtime env from the spec', () => {
  it.each<[string, ReturnType<typeof cluster>, { ttl: number; invalidation: boolean; retentionMs: number; cap: number }]>([
    ['defaults', cluster(), { ttl: 30_000, invalidation: true, retentionMs: 168 * 3_600_000, cap: 10_000 }],
    ['full spec', cluster(FULL_SPEC), { ttl: 5000, invalidation: false, retentionMs: 48 * 3_600_000, cap: 500 }],
    ['cache off', cluster({ session: { ttlMs: 0 } }), { ttl: 0, invalidation: true, retentionMs: 168 * 3_600_000, cap: 10_000 }],
    ['short retention', cluster({ offline: { retention: '1h30m', maxPerGroup: 1 } }), { ttl: 30_000, invalidation: true, retentionMs: 5_400_000, cap: 1 }],
  ])('%s: session cache, offline log and presence publishing', (_name, c, want) => {
    const logic = resolveLogicOptions([], resolveEnv(logicEnv(c), 'chat-logic-0')).options;
    expect(logic.sessionTtlMs).toBe(want.ttl);
    expect(logic.sessionInvalidation).toBe(want.invalidation);
    expect(logic.logRetentionMs).toBe(want.retentionMs);
    expect(logic.logCap).toBe(want.cap);
    const gate = resolveGateOptions([], resolveEnv(gateEnv(c), 'chat-gate-0')).options;
    expect(gate.presencePublish).toBe(want.invalidation);
  });

  it.each<[string, ReturnType<typeof cluster>, string]>([
    ['no secretRef: the generated N-auth', cluster(), 'chat-auth'],
    ['auth.secretRef', cluster(FULL_SPEC), 'chat-secrets'],
  ])('reads every secret from %s', (_name, c, secretName) => {
    const refs = [...gateEnv(c), ...logicEnv(c)].filter((e) => e.valueFrom?.secretKeyRef);
    expect(refs.map((e) => `${e.name}=${e.valueFrom?.secretKeyRef?.key}`).sort()).toEqual([
      'IMGROUP_ADMIN_TOKEN=admin-token',
      'IMGROUP_INTERNAL_TOKEN=internal-token',
      'IMGROUP_INTERNAL_TOKEN=internal-token',
      'IMGROUP_JWT_SECRET=jwt-secret',
      'IMGROUP_REDIS_PASSWORD=redis-password',
      'IMGROUP_REDIS_PASSWORD=redis-password',
    ]);
    for (const e of refs) expect(e.valueFrom?.secretKeyRef).toEqual({ name: secretName, key: e.valueFrom?.secretKeyRef?.key, optional: false });
  });

  it('takes the node name from the pod name and sets no secret as a plain value', () => {
    for (const env of [gateEnv(), logicEnv()]) {
      expect(env.find((e) => e.name === 'IMGROUP_NODE_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
      for (const name of ['IMGROUP_JWT_SECRET', 'IMGROUP_ADMIN_TOKEN', 'IMGROUP_INTERNAL_TOKEN', 'IMGROUP_REDIS_PASSWORD']) {
        expect(env.find((e) => e.name === name)?.value).toBeUndefined();
      }
    }
  });

  it.each<[string, ReturnType<typeof cluster>, number]>([
    ['defaults', cluster(), 0],
    ['full spec', cluster(FULL_SPEC), 1],
    ['as many as the replicas', cluster({ redis: { replicasPerMaster: 3, minReplicasAck: 3 } }), 3],
  ])('%s: spec.redis.minReplicasAck becomes the logic nodes\' IMGROUP_REDIS_MIN_REPLICAS_ACK', (_name, c, want) => {
    const env = logicEnv(c);
    expect(resolveLogicOptions([], resolveEnv(env, 'chat-logic-0')).options.minReplicasAck).toBe(want);
    // At the default the variable is left out, so the logic pod template of existing clusters does not change.
    expect(env.some((e) => e.name === 'IMGROUP_REDIS_MIN_REPLICAS_ACK')).toBe(want > 0);
    expect(gateEnv(c).some((e) => e.name === 'IMGROUP_REDIS_MIN_REPLICAS_ACK')).toBe(false);
  });

  it('does not change the pods when only the Redis size changes (no rolling restart of gates)', () => {
    const small = cluster({ redis: { masters: 3 } });
    const big = cluster({ redis: { masters: 9, replicasPerMaster: 2 } });
    expect(desiredGateStatefulSet(big).spec?.template).toEqual(desiredGateStatefulSet(small).spec?.template);
    expect(desiredLogicStatefulSet(big).spec?.template).toEqual(desiredLogicStatefulSet(small).spec?.template);
  });
});
