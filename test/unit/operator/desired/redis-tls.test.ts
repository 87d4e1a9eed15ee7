import type { V1Container, V1PodSpec, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { validateSpec } from '../../../../operator/api/validation.js';
import { desiredGateStatefulSet } from '../../../../operator/desired/gate-statefulset.js';
import { desiredLogicStatefulSet } from '../../../../operator/desired/logic-statefulset.js';
import { desiredRedisStatefulSet } from '../../../../operator/desired/redis-statefulset.js';
import { redisConnectOptions } from '../../../../runtime/config/common-options.js';
import { resolveGateOptions } from '../../../../runtime/gate/config.js';
import { resolveLogicOptions } from '../../../../runtime/logic/config.js';
import { MINIMAL_SPEC } from '../api/spec-fixtures.js';
import { cluster, onlyContainer, resolveEnv } from './cluster-fixture.js';

const TLS_SPEC = { ...MINIMAL_SPEC, redis: { ...MINIMAL_SPEC.redis, tls: { secretRef: { name: 'chat-redis-tls' } } } };
const podSpec = (s: V1StatefulSet): V1PodSpec => s.spec?.template.spec as V1PodSpec;
const main = (s: V1StatefulSet): V1Container => onlyContainer(podSpec(s).containers);

/** `--name value` pairs of redis-server's arguments. */
function options(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) out.set((args[i] as string).replace(/^--/, ''), args[i + 1] as string);
  return out;
}

describe('spec.redis.tls in the Redis pods', () => {
  const sts = desiredRedisStatefulSet(cluster(TLS_SPEC));
  const args = options(main(sts).args ?? []);

  it('serves TLS only on the client port, the cluster bus and replication, with the Secret\'s files', () => {
    expect(args.get('port')).toBe('0');
    expect(args.get('tls-port')).toBe('6379');
    expect(args.get('tls-cluster')).toBe('yes');
    expect(args.get('tls-replication')).toBe('yes');
    expect(args.get('tls-auth-clients')).toBe('optional');
    expect(args.get('tls-cert-file')).toBe('/etc/redis/tls/tls.crt');
    expect(args.get('tls-key-file')).toBe('/etc/redis/tls/tls.key');
    expect(args.get('tls-ca-cert-file')).toBe('/etc/redis/tls/ca.crt');
    expect(main(sts).args?.filter((a) => a === '--port')).toHaveLength(1);
  });

  it('mounts the whole Secret read-only, readable by the pod\'s group only, required', () => {
    expect(podSpec(sts).volumes).toEqual([
      {
        name: 'redis-tls',
        secret: {
          secretName: 'chat-redis-tls',
          defaultMode: 0o440,
          optional: false,
          items: [
            { key: 'tls.crt', path: 'tls.crt' },
            { key: 'tls.key', path: 'tls.key' },
            { key: 'ca.crt', path: 'ca.crt' },
          ],
        },
      },
    ]);
    expect(main(sts).volumeMounts).toContainEqual({ name: 'redis-tls', mountPath: '/etc/redis/tls', readOnly: true });
  });

  it('keeps the TCP probes on the client port (a TCP connect works against a TLS port)', () => {
    expect(main(sts).readinessProbe?.tcpSocket?.port).toBe('redis');
    expect(main(sts).ports?.find((p) => p.name === 'redis')?.containerPort).toBe(6379);
  });

  it('without spec.redis.tls: plain TCP, no TLS argument, no Secret volume', () => {
    const plain = desiredRedisStatefulSet(cluster(MINIMAL_SPEC));
    expect(options(main(plain).args ?? []).get('port')).toBe('6379');
    expect((main(plain).args ?? []).some((a) => a.startsWith('--tls'))).toBe(false);
    expect(podSpec(plain).volumes).toBeUndefined();
  });
});

describe('spec.redis.tls in gate and logic pods', () => {
  it.each([
    ['gate', desiredGateStatefulSet(cluster(TLS_SPEC)), 'chat-gate-0'],
    ['logic', desiredLogicStatefulSet(cluster(TLS_SPEC)), 'chat-logic-0'],
  ])('%s: mounts ca.crt alone and connects with TLS, trusting it', (component, sts, pod) => {
    expect(podSpec(sts).volumes).toContainEqual({
      name: 'redis-tls',
      secret: { secretName: 'chat-redis-tls', defaultMode: 0o440, optional: false, items: [{ key: 'ca.crt', path: 'ca.crt' }] },
    });
    expect(main(sts).volumeMounts).toContainEqual({ name: 'redis-tls', mountPath: '/etc/imgroup/redis-tls', readOnly: true });
    const env = resolveEnv(main(sts).env ?? [], pod);
    expect(env.IMGROUP_REDIS_TLS).toBe('true');
    expect(env.IMGROUP_REDIS_TLS_CA_FILE).toBe('/etc/imgroup/redis-tls/ca.crt');
    // The runtime accepts this env as it is (reading the file is left to start-up, in the pod).
    const options = component === 'gate' ? resolveGateOptions([], env).options : resolveLogicOptions([], env).options;
    expect(options.redisTls).toBe(true);
    expect(options.redisTlsCaFile).toBe('/etc/imgroup/redis-tls/ca.crt');
    expect(options.redisSeeds[0]).toBe('chat-redis-0.chat-redis.prod.svc:6379');
  });

  it('without spec.redis.tls: no TLS env, no Secret volume', () => {
    for (const sts of [desiredGateStatefulSet(cluster(MINIMAL_SPEC)), desiredLogicStatefulSet(cluster(MINIMAL_SPEC))]) {
      expect((main(sts).env ?? []).some((e) => e.name.startsWith('IMGROUP_REDIS_TLS'))).toBe(false);
      expect(podSpec(sts).volumes?.some((v) => v.name === 'redis-tls')).toBe(false);
    }
  });

  it('a CA file that is not there stops the runtime at start-up, naming the setting', () => {
    const env = resolveEnv(main(desiredLogicStatefulSet(cluster(TLS_SPEC))).env ?? [], 'chat-logic-0');
    expect(() => redisConnectOptions(resolveLogicOptions([], env).options)).toThrow(/IMGROUP_REDIS_TLS_CA_FILE \/etc\/imgroup\/redis-tls\/ca\.crt cannot be read/);
  });
});

describe('spec.redis.tls validation', () => {
  const withTls = (name: unknown) => ({ redis: { tls: { secretRef: { name } } } });
  it.each<[string, unknown, RegExp]>([
    ['a tls without secretRef', { redis: { tls: {} } }, /spec\.redis\.tls\.secretRef is required/],
    ['a secretRef without a name', { redis: { tls: { secretRef: {} } } }, /spec\.redis\.tls\.secretRef\.name is required/],
    ['an invalid Secret name', withTls('Bad_Name'), /spec\.redis\.tls\.secretRef\.name must match/],
    ['an empty Secret name', withTls(''), /spec\.redis\.tls\.secretRef\.name must be at least 1 characters/],
  ])('rejects %s', (_what, spec, message) => {
    expect(validateSpec(spec).map((e) => e.message).join('\n')).toMatch(message);
  });

  it.each<[string, unknown, unknown]>([
    ['adding TLS to a cluster without it', {}, withTls('chat-redis-tls')],
    ['removing TLS from a cluster with it', withTls('chat-redis-tls'), {}],
  ])('rejects %s (immutable: every node and client would have to switch at once)', (_what, old, spec) => {
    expect(validateSpec(spec, old)).toEqual([expect.objectContaining({ field: 'spec.redis.tls', message: expect.stringMatching(/spec\.redis\.tls can be neither added nor removed/) })]);
  });

  it('accepts TLS on create, and a change of the Secret\'s name', () => {
    expect(validateSpec(withTls('chat-redis-tls'))).toEqual([]);
    expect(validateSpec(withTls('chat-redis-tls-2'), withTls('chat-redis-tls'))).toEqual([]);
    expect(validateSpec({}, {})).toEqual([]);
  });
});
