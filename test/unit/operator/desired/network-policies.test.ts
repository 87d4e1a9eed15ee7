import type { V1NetworkPolicy, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ImGroupClusterSpecInput } from '../../../../operator/api/v1alpha1.js';
import { desiredState } from '../../../../operator/desired/desired-objects.js';
import { desiredNetworkPolicies } from '../../../../operator/desired/network-policies.js';
import { ownerReference } from '../../../../operator/desired/object-meta.js';
import { clusterContext } from '../../../../operator/desired/cluster-context.js';
import { type NamespaceView, mayConnect, type PodView } from '../../../support/network-policy-evaluator.js';
import { MINIMAL_SPEC } from '../api/spec-fixtures.js';
import { cluster, NAMESPACE } from './cluster-fixture.js';

const OPERATOR = { namespace: 'imgroup-system', labels: { 'app.kubernetes.io/name': 'imgroup', 'app.kubernetes.io/instance': 'imgroup', 'app.kubernetes.io/component': 'operator' } };
const NAMESPACES: NamespaceView[] = [NAMESPACE, 'imgroup-system', 'monitoring'].map((name) => ({ name, labels: { 'kubernetes.io/metadata.name': name } }));

/** Pod 0 of each StatefulSet, as the StatefulSet controller makes it from the template. */
function podsOf(spec: ImGroupClusterSpecInput): Record<'gate' | 'logic' | 'redis', PodView> {
  const sets = desiredState(cluster(spec), { logicPods: [] }).objects.filter((o): o is V1StatefulSet => o.kind === 'StatefulSet');
  const pod = (suffix: string): PodView => {
    const sts = sets.find((s) => s.metadata?.name === `chat-${suffix}`) as V1StatefulSet;
    return {
      name: `chat-${suffix}-0`,
      namespace: NAMESPACE,
      labels: { ...sts.spec?.template.metadata?.labels },
      ports: (sts.spec?.template.spec?.containers ?? []).flatMap((c) => c.ports ?? []).map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol })),
    };
  };
  return { gate: pod('gate'), logic: pod('logic'), redis: pod('redis') };
}

function port(pod: PodView, name: string): number {
  const p = pod.ports.find((x) => x.name === name);
  if (!p) throw new Error(`${pod.name} has no port ${name}`);
  return p.containerPort;
}

const other = (namespace: string, labels: Record<string, string>, name = 'other'): PodView => ({ name, namespace, labels, ports: [] });

describe('desiredNetworkPolicies', () => {
  it('makes one ingress-only policy per tier, owned by the cluster, selecting that tier\'s pods', () => {
    const c = cluster();
    const policies = desiredNetworkPolicies(c, { operatorPods: OPERATOR });
    expect(policies.map((p) => p.metadata?.name)).toEqual(['chat-gate', 'chat-logic', 'chat-redis']);
    for (const p of policies) {
      expect(p.metadata?.ownerReferences).toEqual([ownerReference(clusterContext(c))]);
      expect(p.spec?.policyTypes).toEqual(['Ingress']);
    }
  });

  it('makes none when spec.networkPolicy.enabled is false, and desiredState lists them as absent', () => {
    const off = cluster({ ...MINIMAL_SPEC, networkPolicy: { enabled: false } });
    expect(desiredNetworkPolicies(off)).toEqual([]);
    const state = desiredState(off, { logicPods: [], networkPolicies: {} });
    expect(state.objects.filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    expect(state.absent.map((a) => `${a.kind}/${a.name}`)).toEqual(['NetworkPolicy/chat-gate', 'NetworkPolicy/chat-logic', 'NetworkPolicy/chat-redis']);
  });

  it('is neither made nor deleted without the operator\'s feature (IMGROUP_OPERATOR_NETWORK_POLICIES=false)', () => {
    for (const spec of [MINIMAL_SPEC, { ...MINIMAL_SPEC, networkPolicy: { enabled: false } }]) {
      const state = desiredState(cluster(spec), { logicPods: [] });
      expect(state.objects.filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
      expect(state.absent).toEqual([]);
    }
  });

  // Who may reach which port of the pods the StatefulSets make: a label or port rename that
  // opens or closes a path changes this table.
  const pods = podsOf(MINIMAL_SPEC);
  const policies: V1NetworkPolicy[] = desiredNetworkPolicies(cluster(), { operatorPods: OPERATOR });
  const sources = {
    gate: { pod: pods.gate },
    logic: { pod: pods.logic },
    redis: { pod: pods.redis },
    operator: { pod: other('imgroup-system', OPERATOR.labels, 'imgroup-operator-0') },
    'operator labels, other namespace': { pod: other(NAMESPACE, OPERATOR.labels) },
    'gate of another cluster': { pod: other(NAMESPACE, { ...pods.gate.labels, 'app.kubernetes.io/instance': 'other' }) },
    'app pod': { pod: other(NAMESPACE, { app: 'web' }) },
    prometheus: { pod: other('monitoring', { app: 'prometheus' }) },
    internet: { ip: '203.0.113.9' },
  } as const;
  type Name = keyof typeof sources;
  const all = Object.keys(sources) as Name[];
  const pods_ = all.filter((s) => s !== 'internet');
  const table: [string, PodView, string, Name[]][] = [
    ['gate client', pods.gate, 'client', all],
    ['gate ops', pods.gate, 'ops', pods_],
    ['logic internal', pods.logic, 'internal', ['gate']],
    ['logic ops', pods.logic, 'ops', pods_],
    ['redis client', pods.redis, 'redis', ['gate', 'logic', 'redis', 'operator']],
    ['redis bus', pods.redis, 'bus', ['redis']],
  ];
  it.each(table)('%s is reachable from exactly the expected sources', (_, target, portName, allowed) => {
    const reached = all.filter((s) => mayConnect(policies, NAMESPACES, sources[s], target, port(target, portName)));
    expect(reached).toEqual(allowed);
  });

  it('closes every port the policies do not name (e.g. a debug port on a logic pod)', () => {
    expect(mayConnect(policies, NAMESPACES, sources.gate, pods.logic, 9229)).toBe(false);
    expect(mayConnect(policies, NAMESPACES, sources.redis, pods.gate, port(pods.gate, 'ops'))).toBe(true);
  });

  it('admits only the configured client and metrics sources; an empty list admits none', () => {
    const spec = {
      ...MINIMAL_SPEC,
      networkPolicy: {
        clientFrom: [{ ipBlock: { cidr: '203.0.113.0/24', except: ['203.0.113.128/25'] } }],
        metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { app: 'prometheus' } } }],
      },
    };
    const p = desiredNetworkPolicies(cluster(spec), { operatorPods: OPERATOR });
    const client = port(pods.gate, 'client');
    expect(mayConnect(p, NAMESPACES, { ip: '203.0.113.9' }, pods.gate, client)).toBe(true);
    expect(mayConnect(p, NAMESPACES, { ip: '203.0.113.200' }, pods.gate, client)).toBe(false);
    expect(mayConnect(p, NAMESPACES, sources['app pod'], pods.gate, client)).toBe(false);
    for (const target of [pods.gate, pods.logic]) {
      expect(mayConnect(p, NAMESPACES, sources.prometheus, target, port(target, 'ops'))).toBe(true);
      expect(mayConnect(p, NAMESPACES, { pod: other('monitoring', { app: 'grafana' }) }, target, port(target, 'ops'))).toBe(false);
      expect(mayConnect(p, NAMESPACES, sources['app pod'], target, port(target, 'ops'))).toBe(false);
    }
    const closed = desiredNetworkPolicies(cluster({ ...MINIMAL_SPEC, networkPolicy: { clientFrom: [], metricsFrom: [] } }));
    expect(mayConnect(closed, NAMESPACES, sources.internet, pods.gate, client)).toBe(false);
    expect(mayConnect(closed, NAMESPACES, sources.prometheus, pods.logic, port(pods.logic, 'ops'))).toBe(false);
    expect(closed[0]?.spec?.ingress).toEqual([]);
  });

  it('admits no operator pod to Redis when the operator\'s pods are unknown (an operator outside the cluster)', () => {
    const p = desiredNetworkPolicies(cluster());
    expect(mayConnect(p, NAMESPACES, sources.operator, pods.redis, port(pods.redis, 'redis'))).toBe(false);
    expect(mayConnect(p, NAMESPACES, sources.logic, pods.redis, port(pods.redis, 'redis'))).toBe(true);
  });
});
