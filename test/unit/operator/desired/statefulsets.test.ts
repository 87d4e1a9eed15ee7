import type { V1Container, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { desiredGateStatefulSet } from '../../../../operator/desired/gate-statefulset.js';
import { desiredLogicStatefulSet } from '../../../../operator/desired/logic-statefulset.js';
import { desiredRedisStatefulSet, redisTargetReplicas } from '../../../../operator/desired/redis-statefulset.js';
import type { ImGroupCluster } from '../../../../operator/api/v1alpha1.js';
import { FULL_SPEC, MINIMAL_SPEC } from '../api/spec-fixtures.js';
import { cluster, onlyContainer, resolveEnv, VARIANTS } from './cluster-fixture.js';

const BUILDERS: [string, (c: ImGroupCluster) => V1StatefulSet][] = [
  ['gate', desiredGateStatefulSet],
  ['logic', desiredLogicStatefulSet],
  ['redis', (c) => desiredRedisStatefulSet(c)],
];

const container = (sts: V1StatefulSet): V1Container => onlyContainer(sts.spec?.template.spec?.containers);

describe.each(VARIANTS)('StatefulSets (%s)', (_variant, c) => {
  describe.each(BUILDERS)('%s', (component, build) => {
    const sts = build(c);
    const pod = sts.spec?.template.spec;
    const main = container(sts);

    it('is named N-<component>, governed by its Service, pods started in parallel', () => {
      expect(sts.metadata?.name).toBe(`chat-${component}`);
      expect(sts.spec?.serviceName).toBe(`chat-${component}`);
      expect(sts.spec?.podManagementPolicy).toBe('Parallel');
    });

    it('runs as non-root with a read-only root filesystem, no escalation, no capabilities', () => {
      expect(pod?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
      expect(main.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
    });

    it('gets no Service environment variables (they would collide with IMGROUP_* options)', () => {
      expect(pod?.enableServiceLinks).toBe(false);
    });

    it('mounts only volumes that exist', () => {
      const volumes = new Set([...(pod?.volumes ?? []).map((v) => v.name), ...(sts.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name)]);
      for (const m of main.volumeMounts ?? []) expect(volumes.has(m.name), m.name).toBe(true);
    });

    it('probes only named ports the container has', () => {
      const ports = new Set((main.ports ?? []).map((p) => p.name));
      for (const probe of [main.readinessProbe, main.livenessProbe, main.startupProbe]) {
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        if (probe) expect(ports.has(String(port)), String(port)).toBe(true);
      }
      expect(main.readinessProbe).toBeDefined();
      expect(main.livenessProbe).toBeDefined();
    });
  });

  it('gives gate and logic pods the runtime image, `imgroup <component>`, and /readyz, /healthz on the ops port', () => {
    for (const [component, sts] of [['gate', desiredGateStatefulSet(c)], ['logic', desiredLogicStatefulSet(c)]] as const) {
      const main = container(sts);
      expect(main.image).toBe(c.spec?.image ?? 'ghcr.io/imgroup/imgroup:0.1.0');
      expect(main.args).toEqual([component]);
      expect(main.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'ops' });
      expect(main.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'ops' });
      expect(main.startupProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'ops' });
      expect(main.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    }
  });
});

describe('replicas and resources from the spec', () => {
  it.each<[string, ImGroupCluster, number, number, number]>([
    ['minimal', cluster(), 2, 3, 6],
    ['full', cluster(FULL_SPEC), 4, 5, 15],
    ['no replicas of masters', cluster({ redis: { masters: 4, replicasPerMaster: 0 } }), 2, 3, 4],
    ['zero gates and logic nodes', cluster({ gate: { replicas: 0 }, logic: { replicas: 0 } }), 0, 0, 6],
  ])('%s', (_name, c, gates, logic, redis) => {
    expect(desiredGateStatefulSet(c).spec?.replicas).toBe(gates);
    expect(desiredLogicStatefulSet(c).spec?.replicas).toBe(logic);
    expect(desiredRedisStatefulSet(c).spec?.replicas).toBe(redis);
  });

  it.each<[string, ImGroupCluster, object, object]>([
    ['defaults', cluster(), { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } }, { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } }],
    ['full spec, integer quantities as strings', cluster(FULL_SPEC), { requests: { cpu: '500m', memory: '300Mi' }, limits: { cpu: '2', memory: '2Gi' } }, { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '3Gi' } }],
    ['limits only', cluster({ gate: { resources: { limits: { memory: '64Mi' } } } }), { limits: { memory: '64Mi' } }, { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } }],
  ])('resources: %s', (_name, c, gate, logic) => {
    expect(container(desiredGateStatefulSet(c)).resources).toEqual(gate);
    expect(container(desiredLogicStatefulSet(c)).resources).toEqual(logic);
  });
});

describe('gate pods', () => {
  it('run with the ServiceAccount N-gate and its token; logic and Redis pods get no token', () => {
    expect(desiredGateStatefulSet(cluster()).spec?.template.spec).toMatchObject({ serviceAccountName: 'chat-gate', automountServiceAccountToken: true });
    for (const sts of [desiredLogicStatefulSet(cluster()), desiredRedisStatefulSet(cluster())]) {
      expect(sts.spec?.template.spec?.automountServiceAccountToken).toBe(false);
      expect(sts.spec?.template.spec?.serviceAccountName).toBeUndefined();
    }
  });

  it('mount N-membership where IMGROUP_MEMBERSHIP_FILE points', () => {
    const sts = desiredGateStatefulSet(cluster());
    const main = container(sts);
    const file = resolveEnv(main.env ?? [], 'chat-gate-0').IMGROUP_MEMBERSHIP_FILE as string;
    const mount = main.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
    expect(mount).toMatchObject({ readOnly: true });
    const volume = sts.spec?.template.spec?.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.configMap).toEqual({ name: 'chat-membership', optional: true, items: [{ key: 'membership.json', path: file.slice((mount?.mountPath.length ?? 0) + 1) }] });
  });

  it('expose the client and ops ports by name', () => {
    expect(container(desiredGateStatefulSet(cluster())).ports?.map((p) => [p.name, p.containerPort])).toEqual([['client', 8080], ['ops', 9090]]);
    expect(container(desiredLogicStatefulSet(cluster())).ports?.map((p) => [p.name, p.containerPort])).toEqual([['internal', 8180], ['ops', 9190]]);
  });
});

describe('N-redis', () => {
  it.each<[string, ImGroupCluster, { storage: string }, string | undefined]>([
    ['default storage, default class', cluster(), { storage: '1Gi' }, undefined],
    ['full spec', cluster(FULL_SPEC), { storage: '20Gi' }, 'fast-ssd'],
    ['integer size', cluster({ redis: { storage: { size: 1_073_741_824 } } }), { storage: '1073741824' }, undefined],
  ])('claims a volume per pod: %s', (_name, c, requests, storageClassName) => {
    const [template, ...more] = desiredRedisStatefulSet(c).spec?.volumeClaimTemplates ?? [];
    expect(more).toEqual([]);
    expect(template?.metadata?.name).toBe('data');
    expect(template?.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(template?.spec?.resources?.requests).toEqual(requests);
    expect(template?.spec?.storageClassName).toBe(storageClassName);
    if (storageClassName === undefined) expect(template?.spec).not.toHaveProperty('storageClassName');
  });

  it('keeps volumes when the StatefulSet is deleted, drops those of pods removed by scale-in', () => {
    expect(desiredRedisStatefulSet(cluster()).spec?.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Delete' });
  });

  it('applies the replica count it is given (scale-in is held until slots are drained)', () => {
    const c = cluster({ redis: { masters: 3 } });
    expect(redisTargetReplicas({ redis: { masters: 3, replicasPerMaster: 1, minReplicasAck: 0, image: 'r', storage: { size: '1Gi' } } })).toBe(6);
    expect(desiredRedisStatefulSet(c, { replicas: 10 }).spec?.replicas).toBe(10);
    for (const bad of [-1, 1.5, Number.NaN]) expect(() => desiredRedisStatefulSet(c, { replicas: bad })).toThrow(RangeError);
  });

  it('runs redis-server from the spec\'s image with the password from the auth Secret', () => {
    const main = container(desiredRedisStatefulSet(cluster(FULL_SPEC)));
    expect(main.image).toBe('redis:7.4');
    expect(main.command).toEqual(['redis-server']);
    const env = main.env ?? [];
    expect(env.find((e) => e.name === 'REDIS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'chat-secrets', key: 'redis-password', optional: false });
    expect(env.find((e) => e.name === 'POD_IP')?.valueFrom?.fieldRef).toEqual({ fieldPath: 'status.podIP' });
    expect(main.readinessProbe?.tcpSocket?.port).toBe('redis');
    expect(main.volumeMounts).toEqual([
      { name: 'data', mountPath: '/data' },
      { name: 'redis-tls', mountPath: '/etc/redis/tls', readOnly: true },
    ]);
    expect(container(desiredRedisStatefulSet(cluster(MINIMAL_SPEC))).volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }]);
  });
});
