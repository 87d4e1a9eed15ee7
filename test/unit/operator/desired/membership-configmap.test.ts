import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { desiredMembershipConfigMap, membershipDocument } from '../../../../operator/desired/membership-configmap.js';
import { parseMembership } from '../../../../runtime/protocol/membership.js';
import { cluster } from './cluster-fixture.js';

interface PodOptions {
  name?: string;
  ip?: string | undefined;
  ready?: boolean;
  terminating?: boolean;
  phase?: string;
  instance?: string;
  component?: string;
  namespace?: string;
  /** Container ports of the pod's logic container. */
  ports?: Array<{ name?: string; containerPort: number }>;
}

function pod(o: PodOptions = {}): V1Pod {
  return {
    metadata: {
      name: o.name ?? 'chat-logic-0',
      namespace: o.namespace ?? 'prod',
      labels: { 'app.kubernetes.io/name': 'imgroup', 'app.kubernetes.io/instance': o.instance ?? 'chat', 'app.kubernetes.io/component': o.component ?? 'logic' },
      ...(o.terminating ? { deletionTimestamp: new Date('2030-01-01T00:00:00Z') } : {}),
    },
    ...(o.ports ? { spec: { containers: [{ name: 'logic', ports: o.ports }] } } : {}),
    status: {
      phase: o.phase ?? 'Running',
      ...('ip' in o ? (o.ip === undefined ? {} : { podIP: o.ip }) : { podIP: '10.0.0.10' }),
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: o.ready === false ? 'False' : 'True' },
      ],
    },
  };
}

describe('membershipDocument', () => {
  it.each<[string, V1Pod, { id: string; url: string } | null]>([
    ['a Ready logic pod', pod(), { id: 'chat-logic-0', url: 'ws://10.0.0.10:8180' }],
    ['an IPv6 pod', pod({ ip: 'fd00::a' }), { id: 'chat-logic-0', url: 'ws://[fd00::a]:8180' }],
    ['a pod that is not Ready', pod({ ready: false }), null],
    ['a terminating pod', pod({ terminating: true }), null],
    ['a pod without an IP yet', pod({ ip: undefined }), null],
    ['a pod with a malformed IP', pod({ ip: '10.0.0.300' }), null],
    ['a failed pod', pod({ phase: 'Failed' }), null],
    ['a logic pod of another cluster', pod({ instance: 'other' }), null],
    ['a gate pod', pod({ name: 'chat-gate-0', component: 'gate' }), null],
    ['a pod in another namespace', pod({ namespace: 'dev' }), null],
    ['a pod whose name is not a node name', pod({ name: '-bad' }), null],
    ['a pod that declares its internal port', pod({ ports: [{ name: 'ops', containerPort: 9999 }, { name: 'internal', containerPort: 18180 }] }), { id: 'chat-logic-0', url: 'ws://10.0.0.10:18180' }],
    ['a pod with other ports only: the default', pod({ ports: [{ name: 'ops', containerPort: 9999 }] }), { id: 'chat-logic-0', url: 'ws://10.0.0.10:8180' }],
  ])('%s', (_name, p, member) => {
    const doc = membershipDocument(cluster(), [p]);
    expect(doc.members).toEqual(member ? [member] : []);
  });

  it('sorts members by id (the protocol\'s canonical order) and lists a pod once', () => {
    const pods = [
      pod({ name: 'chat-logic-2', ip: '10.0.0.12' }),
      pod({ name: 'chat-logic-10', ip: '10.0.0.20' }),
      pod({ name: 'chat-logic-0', ip: '10.0.0.10' }),
      pod({ name: 'chat-logic-1', ip: '10.0.0.11' }),
      pod({ name: 'chat-logic-0', ip: '10.0.0.10' }),
    ];
    expect(membershipDocument(cluster(), pods).members.map((m) => m.id)).toEqual(['chat-logic-0', 'chat-logic-1', 'chat-logic-10', 'chat-logic-2']);
  });

  it('changes its version exactly when the member list changes', () => {
    const a = [pod({ name: 'chat-logic-0', ip: '10.0.0.10' }), pod({ name: 'chat-logic-1', ip: '10.0.0.11' })];
    const v = membershipDocument(cluster(), a).version;
    expect(membershipDocument(cluster(), [...a].reverse()).version).toBe(v);
    expect(membershipDocument(cluster(), [...a, pod({ name: 'chat-logic-2', ready: false })]).version).toBe(v);
    expect(membershipDocument(cluster(), [a[0] as V1Pod]).version).not.toBe(v);
    expect(membershipDocument(cluster(), [a[0] as V1Pod, pod({ name: 'chat-logic-1', ip: '10.0.0.99' })]).version).not.toBe(v);
  });

  it('has an empty member list when no logic pod is Ready', () => {
    expect(membershipDocument(cluster(), []).members).toEqual([]);
  });
});

describe('desiredMembershipConfigMap', () => {
  it('holds membership.json in the protocol\'s format, with the version annotated', () => {
    const doc = membershipDocument(cluster(), [pod(), pod({ name: 'chat-logic-1', ip: '10.0.0.11' })]);
    const cm = desiredMembershipConfigMap(cluster(), doc);
    expect(cm.metadata?.name).toBe('chat-membership');
    expect(Object.keys(cm.data ?? {})).toEqual(['membership.json']);
    const parsed = parseMembership(cm.data?.['membership.json'] as string);
    expect(parsed).toEqual({ ok: true, doc });
    expect(cm.metadata?.annotations).toEqual({ 'imgroup.dev/membership-version': doc.version });
  });
});
