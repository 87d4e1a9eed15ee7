import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { mayConnect, type NamespaceView, type PodView, selectorMatches } from '../../support/network-policy-evaluator.js';

const NS: NamespaceView[] = [
  { name: 'a', labels: { team: 'x' } },
  { name: 'b', labels: { team: 'y' } },
];
const pod = (namespace: string, labels: Record<string, string>, ip?: string): PodView => ({ name: 'p', namespace, labels, ports: [{ name: 'web', containerPort: 80 }], ...(ip ? { ip } : {}) });
const target = pod('a', { app: 'db' });
const policy = (ingress: NonNullable<V1NetworkPolicy['spec']>['ingress'], podSelector = { matchLabels: { app: 'db' } }): V1NetworkPolicy => ({
  metadata: { name: 'p', namespace: 'a' },
  spec: { podSelector, policyTypes: ['Ingress'], ...(ingress ? { ingress } : {}) },
});

describe('the NetworkPolicy evaluator (test support)', () => {
  it('admits everything to a pod no policy selects, and nothing to a selected pod without rules', () => {
    expect(mayConnect([policy([], { matchLabels: { app: 'other' } })], NS, { pod: pod('b', {}) }, target, 80)).toBe(true);
    expect(mayConnect([policy([])], NS, { pod: pod('a', { app: 'db' }) }, target, 80)).toBe(false);
  });

  it('reads a rule without `from` as every source and without ports as every port', () => {
    expect(mayConnect([policy([{ ports: [{ port: 80 }] }])], NS, { ip: '198.51.100.1' }, target, 80)).toBe(true);
    expect(mayConnect([policy([{ ports: [{ port: 80 }] }])], NS, { ip: '198.51.100.1' }, target, 81)).toBe(false);
    expect(mayConnect([policy([{ _from: [{ podSelector: {} }] }])], NS, { pod: pod('a', {}) }, target, 12345)).toBe(true);
  });

  it('resolves named ports against the target\'s container ports, and ranges', () => {
    expect(mayConnect([policy([{ ports: [{ port: 'web' }] }])], NS, { ip: '198.51.100.1' }, target, 80)).toBe(true);
    expect(mayConnect([policy([{ ports: [{ port: 'admin' }] }])], NS, { ip: '198.51.100.1' }, target, 80)).toBe(false);
    expect(mayConnect([policy([{ ports: [{ port: 70, endPort: 90 }] }])], NS, { ip: '198.51.100.1' }, target, 80)).toBe(true);
    expect(mayConnect([policy([{ ports: [{ port: 80, protocol: 'UDP' }] }])], NS, { ip: '198.51.100.1' }, target, 80)).toBe(false);
  });

  it('scopes a podSelector alone to the policy\'s namespace, and with a namespaceSelector to those namespaces', () => {
    const alone = [policy([{ _from: [{ podSelector: { matchLabels: { app: 'web' } } }] }])];
    expect(mayConnect(alone, NS, { pod: pod('a', { app: 'web' }) }, target, 80)).toBe(true);
    expect(mayConnect(alone, NS, { pod: pod('b', { app: 'web' }) }, target, 80)).toBe(false);
    const both = [policy([{ _from: [{ namespaceSelector: { matchLabels: { team: 'y' } }, podSelector: { matchLabels: { app: 'web' } } }] }])];
    expect(mayConnect(both, NS, { pod: pod('b', { app: 'web' }) }, target, 80)).toBe(true);
    expect(mayConnect(both, NS, { pod: pod('a', { app: 'web' }) }, target, 80)).toBe(false);
    expect(mayConnect(both, NS, { ip: '198.51.100.1' }, target, 80)).toBe(false);
  });

  it('matches ipBlocks with their exceptions', () => {
    const p = [policy([{ _from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] } }] }])];
    expect(mayConnect(p, NS, { ip: '10.1.2.3' }, target, 80)).toBe(true);
    expect(mayConnect(p, NS, { ip: '10.9.2.3' }, target, 80)).toBe(false);
    expect(mayConnect(p, NS, { pod: pod('a', {}, '10.1.2.3') }, target, 80)).toBe(true);
  });

  it('matches label selectors with matchLabels and matchExpressions', () => {
    expect(selectorMatches({}, { a: '1' })).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'In', values: ['gate', 'logic'] }] }, { c: 'logic' })).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'In', values: ['gate'] }] }, { c: 'logic' })).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'NotIn', values: ['gate'] }] }, {})).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'Exists' }] }, {})).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'DoesNotExist' }] }, {})).toBe(true);
  });
});
