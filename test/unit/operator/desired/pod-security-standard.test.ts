import type { V1PodSpec, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { desiredState } from '../../../../operator/desired/desired-objects.js';
import { restrictedViolations } from '../../../support/pod-security-standard.js';
import { VARIANTS } from './cluster-fixture.js';

const podSpecs = (objects: ReturnType<typeof desiredState>['objects']): [string, V1PodSpec][] =>
  objects.filter((o) => o.kind === 'StatefulSet').map((o) => [o.metadata?.name ?? '', (o as V1StatefulSet).spec?.template.spec as V1PodSpec]);

describe.each(VARIANTS)('pods the operator creates (%s)', (_variant, c) => {
  const specs = podSpecs(desiredState(c, { logicPods: [] }).objects);

  it('are the gate, logic and Redis pods', () => {
    expect(specs.map(([name]) => name).sort()).toEqual(['chat-gate', 'chat-logic', 'chat-redis']);
  });

  it.each(specs)('%s passes the restricted Pod Security Standard', (_name, spec) => {
    expect(restrictedViolations(spec)).toEqual([]);
  });
});

describe('restrictedViolations', () => {
  const ok: V1PodSpec = {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    volumes: [{ name: 'tmp', emptyDir: {} }],
  };
  const container = ok.containers[0];

  it('passes a minimal restricted pod', () => {
    expect(restrictedViolations(ok)).toEqual([]);
  });

  it.each<[string, V1PodSpec, RegExp]>([
    ['no seccomp profile', { ...ok, securityContext: { runAsNonRoot: true } }, /seccompProfile/],
    ['root allowed', { ...ok, securityContext: { seccompProfile: { type: 'RuntimeDefault' } } }, /runAsNonRoot/],
    ['escalation allowed', { ...ok, containers: [{ name: 'c', securityContext: { capabilities: { drop: ['ALL'] } } }] }, /allowPrivilegeEscalation/],
    ['capabilities kept', { ...ok, containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false } }] }, /drop ALL/],
    ['a capability added', { ...ok, containers: [{ ...container, name: 'c', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } } }] }, /NET_ADMIN/],
    ['a hostPath volume', { ...ok, volumes: [{ name: 'h', hostPath: { path: '/' } }] }, /hostPath/],
    ['host networking', { ...ok, hostNetwork: true }, /hostNetwork/],
    ['a host port', { ...ok, containers: [{ ...container, name: 'c', ports: [{ containerPort: 80, hostPort: 80 }] }] }, /hostPort/],
    ['privileged', { ...ok, containers: [{ name: 'c', securityContext: { ...container?.securityContext, privileged: true } }] }, /privileged/],
  ])('refuses %s', (_case, spec, message) => {
    expect(restrictedViolations(spec).join('\n')).toMatch(message);
  });
});
