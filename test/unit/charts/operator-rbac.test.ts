/**
 * The chart grants the operator exactly what its code uses. The uses are derived from the sources
 * of operator/, not listed by hand:
 *   - every call of a typed client-node API method (`core.listNamespacedPod`, `coordination.
 *     replaceNamespacedLease`, `custom.replaceNamespacedCustomObjectStatus` …): the method name says
 *     the verb and the resource, the API class the group;
 *   - every informer (`new ResilientInformer` with a watch path): list and watch;
 *   - the generic object client (`objects.read`, `objects.patch` with server-side apply) on every
 *     kind of operator/desired: get, and patch + create (an apply that creates is authorized as
 *     create too);
 *   - owner references with blockOwnerDeletion: update of the owner's finalizers.
 * They are compared with charts/imgroup/files/rbac/ (what templates/rbac.yaml grants): a use the
 * chart does not grant, or a grant the code does not use, fails. The end-to-end suite checks the
 * installed RBAC with SubjectAccessReviews on a real API server.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import type { KubernetesObject, V1PolicyRule } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../../operator/api/v1alpha1.js';
import { desiredState } from '../../../operator/desired/desired-objects.js';
import { gateMembershipRule } from '../../../operator/desired/gate-access.js';
import { chartText } from '../../support/chart-files.js';
import { cluster } from '../operator/desired/cluster-fixture.js';
import { FULL_SPEC, MINIMAL_SPEC } from '../operator/api/spec-fixtures.js';

const OPERATOR_DIR = new URL('../../../operator/', import.meta.url);
const sources: [string, string][] = readdirSync(OPERATOR_DIR, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => [f, readFileSync(new URL(f, OPERATOR_DIR), 'utf8')]);
const allSource = sources.map(([, text]) => text).join('\n');

/** The API group of each typed client-node API class the operator may use. */
const API_CLASS_GROUPS: Record<string, string> = { CoreV1Api: '', AppsV1Api: 'apps', CoordinationV1Api: 'coordination.k8s.io', CustomObjectsApi: GROUP, NetworkingV1Api: 'networking.k8s.io' };

const METHOD_VERBS: Record<string, string> = { list: 'list', read: 'get', get: 'get', create: 'create', replace: 'update', patch: 'patch', delete: 'delete', deleteCollection: 'deletecollection' };

type Use = `${string}|${string}|${string}`; // group|resource|verb
const use = (group: string, resource: string, verb: string): Use => `${group}|${resource}|${verb}`;

function plural(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('y')) return `${lower.slice(0, -1)}ies`;
  if (lower.endsWith('s')) return `${lower}es`;
  return `${lower}s`;
}

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '');

/** The typed API classes the operator imports from client-node. */
function importedApiClasses(): string[] {
  const names = new Set<string>();
  for (const m of allSource.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'@kubernetes\/client-node'/g)) {
    for (const part of (m[1] ?? '').split(',')) {
      const name = part.replace(/\btype\b/, '').trim();
      if (/Api$/.test(name) && name !== 'KubernetesObjectApi') names.add(name);
    }
  }
  return [...names].sort();
}

/** (group, resource, verb) of one typed API method, e.g. listNamespacedPod → ('', pods, list). */
function methodUse(cls: string, method: string): Use {
  const m = /^(deleteCollection|list|read|get|create|replace|patch|delete)(.+)$/.exec(method);
  const verb = m ? METHOD_VERBS[m[1] ?? ''] : undefined;
  if (!m || !verb) throw new Error(`${cls}.${method}: verb not known to this test; extend METHOD_VERBS`);
  let rest = (m[2] ?? '').replace(/^(Namespaced|Cluster)/, '').replace(/ForAllNamespaces$/, '');
  let sub = '';
  if (rest.endsWith('Status')) {
    rest = rest.slice(0, -'Status'.length);
    sub = '/status';
  }
  const group = API_CLASS_GROUPS[cls] as string;
  const resource = cls === 'CustomObjectsApi' ? PLURAL : plural(rest);
  return use(group, `${resource}${sub}`, verb);
}

function typedApiUses(): Use[] {
  const classes = importedApiClasses();
  const out = new Set<Use>();
  for (const m of allSource.matchAll(/\.([a-z][A-Za-z]+)\(/g)) {
    const method = m[1] ?? '';
    const owners = classes.filter((c) => {
      const proto = (k8s as unknown as Record<string, { prototype: object } | undefined>)[c]?.prototype;
      return proto !== undefined && Object.hasOwn(proto, method);
    });
    if (owners.length > 1) throw new Error(`${method} is a method of ${owners.join(' and ')}: which one is called?`);
    const cls = owners[0];
    if (cls) out.add(methodUse(cls, method));
  }
  return [...out];
}

function informerUses(): Use[] {
  const out: Use[] = [];
  let informers = 0;
  for (const [, text] of sources) {
    informers += (text.match(/new ResilientInformer</g) ?? []).length;
    for (const m of text.matchAll(/path: nsPath\(['`]([^'`]+)['`], ([^)]+)\)/g)) {
      const prefix = (m[1] ?? '').replace('${GROUP}', GROUP).replace('${VERSION}', VERSION);
      const arg = (m[2] ?? '').trim();
      const resource = arg === 'PLURAL' ? PLURAL : arg.replace(/^'|'$/g, '');
      const group = prefix === '/api/v1' ? '' : (prefix.split('/')[2] ?? '');
      out.push(use(group, resource, 'list'), use(group, resource, 'watch'));
    }
  }
  expect(out.length / 2, 'every informer has a path of the form nsPath(prefix, resource)').toBe(informers);
  return out;
}

/** Every object the reconciler applies, over specs that take every branch (generated or own Secret, NetworkPolicies on). */
function desiredObjects(): KubernetesObject[] {
  return [MINIMAL_SPEC, FULL_SPEC].flatMap((spec) => desiredState(cluster(spec), { logicPods: [], networkPolicies: {} }).objects as KubernetesObject[]);
}

function objectClientUses(): Use[] {
  const methods = new Set([...allSource.matchAll(/\bobjects\.([a-z]\w*)\(/g)].map((m) => m[1]));
  expect([...methods].sort(), 'the generic object client is only read and server-side applied; extend this test for more').toEqual(['patch', 'read']);
  expect(new Set([...allSource.matchAll(/PatchStrategy\.(\w+)/g)].map((m) => m[1]))).toEqual(new Set(['ServerSideApply']));
  const out: Use[] = [];
  for (const o of desiredObjects()) {
    const group = groupOf(o.apiVersion ?? '');
    const resource = plural(o.kind ?? '');
    out.push(use(group, resource, 'get'), use(group, resource, 'patch'), use(group, resource, 'create'));
    for (const ref of o.metadata?.ownerReferences ?? []) {
      if (ref.blockOwnerDeletion) out.push(use(groupOf(ref.apiVersion), `${plural(ref.kind)}/finalizers`, 'update'));
    }
  }
  return out;
}

function rulesToUses(rules: V1PolicyRule[]): Use[] {
  return rules.flatMap((r) => (r.apiGroups ?? []).flatMap((g) => (r.resources ?? []).flatMap((res) => r.verbs.map((v) => use(g, res, v)))));
}

const codeUses = [...new Set([...typedApiUses(), ...informerUses(), ...objectClientUses()])].sort();
const isLease = (u: Use) => u.startsWith('coordination.k8s.io|leases|');

const operatorRules = k8s.loadYaml<V1PolicyRule[]>(chartText('files/rbac/operator-rules.yaml'));
const leaderTemplate = chartText('files/rbac/leader-election-rules.yaml');
const leaderRules = k8s.loadYaml<V1PolicyRule[]>(leaderTemplate.replace(/\{\{[^}]*\}\}/g, '"LEASE"'));

describe('the operator\'s RBAC in the chart', () => {
  it('finds the calls it should (a sanity check of the derivation)', () => {
    expect(codeUses).toEqual(expect.arrayContaining([
      use('', 'pods', 'list'),
      use('', 'pods', 'watch'),
      use('', 'secrets', 'create'),
      use('', 'events', 'create'),
      use(GROUP, `${PLURAL}/status`, 'update'),
      use('coordination.k8s.io', 'leases', 'update'),
      use('rbac.authorization.k8s.io', 'roles', 'patch'),
      use('policy', 'poddisruptionbudgets', 'create'),
    ]));
    expect(methodUse('CoreV1Api', 'listPodForAllNamespaces')).toBe(use('', 'pods', 'list'));
    expect(methodUse('CustomObjectsApi', 'replaceNamespacedCustomObjectStatus')).toBe(use(GROUP, `${PLURAL}/status`, 'update'));
    expect(methodUse('AppsV1Api', 'deleteCollectionNamespacedStatefulSet')).toBe(use('apps', 'statefulsets', 'deletecollection'));
  });

  it('uses only API classes whose group this test knows', () => {
    expect(importedApiClasses().filter((c) => !(c in API_CLASS_GROUPS))).toEqual([]);
  });

  it('passes only the ImGroupCluster plural to the custom objects API', () => {
    // Arguments (`plural: X,` or `plural: X }`), not type annotations (`plural: string;`).
    const plurals = [...allSource.matchAll(/\bplural: (\w+)\s*[,}]/g)].map((m) => m[1]);
    expect(plurals.length).toBeGreaterThan(0);
    expect(new Set(plurals)).toEqual(new Set(['PLURAL']));
  });

  it('grants in files/rbac/operator-rules.yaml exactly what the controller and reconciler use', () => {
    expect([...new Set(rulesToUses(operatorRules))].sort()).toEqual(codeUses.filter((u) => !isLease(u)));
  });

  it('grants in files/rbac/leader-election-rules.yaml exactly the Lease calls, by name where a name can be given', () => {
    expect([...new Set(rulesToUses(leaderRules))].sort()).toEqual(codeUses.filter(isLease));
    for (const r of leaderRules) {
      if (r.verbs.includes('create')) expect(r.resourceNames, 'create cannot be limited by name').toBeUndefined();
      else expect(r.resourceNames).toEqual(['LEASE']);
    }
    expect(leaderTemplate.match(/\{\{[^}]*\}\}/g)).toEqual(['{{ include "imgroup.operatorName" . | quote }}']);
  });

  it('holds every permission of the Role it creates for gates (no escalate or bind needed)', () => {
    const granted = new Set(rulesToUses(operatorRules));
    for (const u of rulesToUses([gateMembershipRule(cluster())])) expect(granted.has(u), u).toBe(true);
    expect(rulesToUses(operatorRules).filter((u) => /\|(escalate|bind|impersonate|\*)$/.test(u) || u.includes('|*|'))).toEqual([]);
  });

  it('is what templates/rbac.yaml grants, and the Deployment names the same Lease', () => {
    const rbac = chartText('templates/rbac.yaml');
    expect(rbac).toContain('{{ .Files.Get "files/rbac/operator-rules.yaml" }}');
    expect(rbac).toContain('{{ tpl (.Files.Get "files/rbac/leader-election-rules.yaml") . }}');
    expect(rbac.match(/^rules:/gm)).toHaveLength(2);
    const deployment = chartText('templates/deployment.yaml');
    expect(deployment).toMatch(/name: IMGROUP_LEADER_LEASE_NAME\n\s+value: \{\{ include "imgroup.operatorName" \. \| quote \}\}/);
    expect(deployment).toMatch(/name: IMGROUP_LEADER_LEASE_NAMESPACE\n\s+value: \{\{ \.Release\.Namespace \| quote \}\}/);
  });
});
