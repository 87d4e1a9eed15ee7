import type { KubernetesObject, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { desiredAuthSecret } from '../../../../operator/desired/auth-secret.js';
import { desiredState } from '../../../../operator/desired/desired-objects.js';
import { cluster, NAME, NAMESPACE, UID, VARIANTS } from './cluster-fixture.js';

const values = { jwtSecret: 'j'.repeat(43), adminToken: 'a'.repeat(43), internalToken: 'i'.repeat(43), redisPassword: 'r'.repeat(43) };

function everything(c = cluster()): KubernetesObject[] {
  return [...desiredState(c, { logicPods: [] }).objects, desiredAuthSecret(c, values)];
}

describe.each(VARIANTS)('every owned object (%s)', (_name, c) => {
  const objects = everything(c);

  it('is the expected set, in dependency order, Secret apart', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      'ServiceAccount/chat-gate',
      'Role/chat-gate',
      'RoleBinding/chat-gate',
      'ConfigMap/chat-membership',
      'Service/chat-gate',
      'Service/chat-logic',
      'Service/chat-redis',
      'PodDisruptionBudget/chat-gate',
      'PodDisruptionBudget/chat-logic',
      'PodDisruptionBudget/chat-redis',
      'StatefulSet/chat-redis',
      'StatefulSet/chat-logic',
      'StatefulSet/chat-gate',
      'Secret/chat-auth',
    ]);
  });

  it.each(objects.map((o) => [`${o.kind}/${o.metadata?.name}`, o] as const))('%s: apiVersion, namespace, owner reference, labels', (_id, o) => {
    expect(o.apiVersion).toMatch(/^(v1|apps\/v1|policy\/v1|rbac\.authorization\.k8s\.io\/v1)$/);
    expect(o.metadata?.namespace).toBe(NAMESPACE);
    expect(o.metadata?.ownerReferences).toEqual([
      { apiVersion: 'imgroup.dev/v1alpha1', kind: 'ImGroupCluster', name: NAME, uid: UID, controller: true, blockOwnerDeletion: true },
    ]);
    const labels = o.metadata?.labels ?? {};
    expect(labels['app.kubernetes.io/name']).toBe('imgroup');
    expect(labels['app.kubernetes.io/instance']).toBe(NAME);
    expect(labels['app.kubernetes.io/managed-by']).toBe('imgroup-operator');
    if (o.kind === 'Secret') expect(labels).not.toHaveProperty(['app.kubernetes.io/component']);
    else expect(['gate', 'logic', 'redis']).toContain(labels['app.kubernetes.io/component']);
  });

  it('labels each tier\'s objects with that tier', () => {
    const component = (o: KubernetesObject) => o.metadata?.labels?.['app.kubernetes.io/component'];
    for (const o of objects) {
      const name = o.metadata?.name ?? '';
      if (name.endsWith('-gate')) expect(component(o), `${o.kind}/${name}`).toBe('gate');
      if (name.endsWith('-logic') || name.endsWith('-membership')) expect(component(o), `${o.kind}/${name}`).toBe('logic');
      if (name.endsWith('-redis')) expect(component(o), `${o.kind}/${name}`).toBe('redis');
    }
  });

  it('gives pod templates the owned labels, and selectors that match them (and no managed-by)', () => {
    for (const sts of objects.filter((o): o is V1StatefulSet => o.kind === 'StatefulSet')) {
      const selector = sts.spec?.selector.matchLabels ?? {};
      const podLabels = sts.spec?.template.metadata?.labels ?? {};
      expect(podLabels).toEqual(sts.metadata?.labels);
      expect(Object.keys(selector).sort()).toEqual(['app.kubernetes.io/component', 'app.kubernetes.io/instance', 'app.kubernetes.io/name']);
      expect(podLabels).toMatchObject(selector);
    }
  });
});

describe('desiredState', () => {
  it('is deterministic: the same cluster and inputs give identical objects', () => {
    expect(JSON.stringify(desiredState(cluster(), { logicPods: [] }))).toBe(JSON.stringify(desiredState(cluster(), { logicPods: [] })));
  });

  it('does not depend on paused or status (pausing is the reconciler\'s business)', () => {
    const paused = cluster({ paused: true });
    paused.status = { observedGeneration: 1, conditions: [] };
    expect(desiredState(paused, { logicPods: [] })).toEqual(desiredState(cluster({ paused: false }), { logicPods: [] }));
  });

  it('keeps StatefulSets apart between clusters of different names', () => {
    const other = cluster();
    other.metadata.name = 'other';
    const names = desiredState(other, { logicPods: [] }).objects.map((o) => o.metadata?.name);
    expect(names.every((n) => n?.startsWith('other-'))).toBe(true);
  });

  it('throws a TypeError for a cluster without uid (the API always sets it)', () => {
    const c = cluster();
    delete c.metadata.uid;
    expect(() => desiredState(c, { logicPods: [] })).toThrow(TypeError);
  });

  it('passes the Redis replicas to apply now through to N-redis', () => {
    const sts = desiredState(cluster(), { logicPods: [], redisReplicas: 10 }).objects.find((o) => o.kind === 'StatefulSet' && o.metadata?.name === 'chat-redis') as V1StatefulSet;
    expect(sts.spec?.replicas).toBe(10);
  });
});
