import { describe, expect, it } from 'vitest';
import { desiredGateRole, desiredGateRoleBinding, desiredGateServiceAccount } from '../../../../operator/desired/gate-access.js';
import { desiredGateStatefulSet } from '../../../../operator/desired/gate-statefulset.js';
import { desiredLogicStatefulSet } from '../../../../operator/desired/logic-statefulset.js';
import { desiredPodDisruptionBudget } from '../../../../operator/desired/pod-disruption-budgets.js';
import { desiredRedisStatefulSet } from '../../../../operator/desired/redis-statefulset.js';
import { desiredGateService, desiredLogicService, desiredRedisService } from '../../../../operator/desired/services.js';
import type { ImGroupCluster } from '../../../../operator/api/v1alpha1.js';
import { FULL_SPEC } from '../api/spec-fixtures.js';
import { cluster } from './cluster-fixture.js';

describe('gate access to the API', () => {
  it('lets the gate ServiceAccount get, list and watch the membership ConfigMap and nothing else', () => {
    const c = cluster();
    expect(desiredGateServiceAccount(c).metadata?.name).toBe('chat-gate');
    expect(desiredGateRole(c).rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['chat-membership'], verbs: ['get', 'list', 'watch'] }]);
    const binding = desiredGateRoleBinding(c);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'chat-gate' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'chat-gate', namespace: 'prod' }]);
    expect(desiredGateStatefulSet(c).spec?.template.spec?.serviceAccountName).toBe(binding.subjects?.[0]?.name);
  });
});

describe('Services', () => {
  it.each<[string, ImGroupCluster, string, number]>([
    ['default', cluster(), 'ClusterIP', 8080],
    ['LoadBalancer on 443', cluster(FULL_SPEC), 'LoadBalancer', 443],
    ['NodePort', cluster({ gate: { service: { type: 'NodePort', port: 30_000 } } }), 'NodePort', 30_000],
  ])('N-gate for clients: %s', (_name, c, type, port) => {
    const svc = desiredGateService(c);
    expect(svc.metadata?.name).toBe('chat-gate');
    expect(svc.spec?.type).toBe(type);
    expect(svc.spec?.ports).toEqual([{ name: 'client', port, targetPort: 'client', protocol: 'TCP' }]);
    expect(svc.spec?.clusterIP).toBeUndefined();
  });

  it('N-logic and N-redis are headless; N-redis names pods before they are Ready', () => {
    const logic = desiredLogicService(cluster());
    const redis = desiredRedisService(cluster());
    expect(logic.spec?.clusterIP).toBe('None');
    expect(logic.spec?.publishNotReadyAddresses).toBeUndefined();
    expect(redis.spec?.clusterIP).toBe('None');
    expect(redis.spec?.publishNotReadyAddresses).toBe(true);
    expect(redis.spec?.ports?.map((p) => [p.name, p.port])).toEqual([['redis', 6379], ['bus', 16379]]);
  });

  it('select exactly the pods of their StatefulSet, on ports those pods have', () => {
    const c = cluster();
    for (const [svc, sts] of [
      [desiredGateService(c), desiredGateStatefulSet(c)],
      [desiredLogicService(c), desiredLogicStatefulSet(c)],
      [desiredRedisService(c), desiredRedisStatefulSet(c)],
    ] as const) {
      expect(svc.spec?.selector).toEqual(sts.spec?.selector.matchLabels);
      const ports = new Set(sts.spec?.template.spec?.containers[0]?.ports?.map((p) => p.name));
      for (const p of svc.spec?.ports ?? []) expect(ports.has(String(p.targetPort)), String(p.targetPort)).toBe(true);
    }
  });
});

describe('PodDisruptionBudgets', () => {
  it.each([
    ['gate', 'AlwaysAllow'],
    ['logic', 'AlwaysAllow'],
    ['redis', 'IfHealthyBudget'],
  ] as const)('%s: one pod at a time, selecting the tier\'s pods', (component, policy) => {
    const c = cluster();
    const pdb = desiredPodDisruptionBudget(c, component);
    expect(pdb.metadata?.name).toBe(`chat-${component}`);
    expect(pdb.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'imgroup', 'app.kubernetes.io/instance': 'chat', 'app.kubernetes.io/component': component } },
      unhealthyPodEvictionPolicy: policy,
    });
  });
});
