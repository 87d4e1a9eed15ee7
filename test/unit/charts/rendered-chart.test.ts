/**
 * The chart as `helm template` renders it, over the values that change what it renders (defaults,
 * namespaced, HA, digest image, CRD off or not kept): the CRD is the generated one with the keep
 * annotation, the RBAC is the rules files' in the right scope, the Deployment passes the
 * restricted Pod Security Standard and the operator accepts its environment, and every object has
 * the standard labels. Needs a helm binary (test/support/helm.ts); without one these tests are
 * skipped and say so (`make lint` builds it). Text-level checks of the templates run always.
 */
import type { KubernetesObject, V1ClusterRole, V1Container, V1Deployment, V1NetworkPolicy, V1PodSpec, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { loadYaml } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, resolveOptions } from '../../../runtime/config/options.js';
import { imGroupClusterCrd } from '../../../operator/api/crd.js';
import { OPERATOR_OPTIONS } from '../../../operator/operator-options.js';
import { operatorPods } from '../../../operator/desired/operator-pods.js';
import { chartText, packageVersion } from '../../support/chart-files.js';
import { findHelm, helmTemplate, renderChart, type RenderOptions } from '../../support/helm.js';
import { restrictedViolations } from '../../support/pod-security-standard.js';

const helm = findHelm();
const NS = 'imgroup-system';
const operatorRules = loadYaml<unknown[]>(chartText('files/rbac/operator-rules.yaml'));

describe('templates/deployment.yaml (text)', () => {
  it('sets only IMGROUP_* variables the operator reads', () => {
    const names = [...chartText('templates/deployment.yaml').matchAll(/name: (IMGROUP_[A-Z0-9_]+)/g)].map((m) => m[1]);
    const known = new Set(OPERATOR_OPTIONS.map((o) => o.env));
    expect(names.length).toBeGreaterThan(8);
    expect(names.filter((n) => !known.has(n as string))).toEqual([]);
  });
});

describe.skipIf(helm === null)(`helm template (helm: ${helm ?? 'not found: set IMGROUP_HELM or run hack/helm/build.sh'})`, () => {
  const render = (o: RenderOptions = {}) => renderChart(helm as string, { namespace: NS, ...o });
  const find = <T extends KubernetesObject>(objects: KubernetesObject[], kind: string, name?: string): T[] =>
    objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name)) as T[];
  const one = <T extends KubernetesObject>(objects: KubernetesObject[], kind: string, name?: string): T => {
    const found = find<T>(objects, kind, name);
    expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
    return found[0] as T;
  };
  // Rendered in beforeAll: a skipped describe still runs its body to collect the tests.
  let defaults: KubernetesObject[] = [];
  let deployment: V1Deployment;
  let pod: V1PodSpec;
  let container: V1Container | undefined;
  beforeAll(() => {
    defaults = render();
    deployment = one<V1Deployment>(defaults, 'Deployment', 'imgroup-operator');
    pod = deployment.spec?.template.spec as V1PodSpec;
    container = pod.containers[0];
  });
  const env = (d: V1Deployment) => Object.fromEntries((d.spec?.template.spec?.containers[0]?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));

  it('renders the CRD, ServiceAccount, cluster-wide RBAC, leader-election Role, the Deployment and its metrics Service', () => {
    expect(defaults.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual([
      'ClusterRole/imgroup-operator',
      'ClusterRoleBinding/imgroup-operator',
      'CustomResourceDefinition/imgroupclusters.imgroup.dev',
      'Deployment/imgroup-operator',
      'NetworkPolicy/imgroup-operator',
      'Role/imgroup-operator-leader-election',
      'RoleBinding/imgroup-operator-leader-election',
      'Service/imgroup-operator-metrics',
      'ServiceAccount/imgroup-operator',
    ]);
  });

  it('gives every object the standard labels', () => {
    for (const o of defaults) {
      expect(o.metadata?.labels, `${o.kind}/${o.metadata?.name}`).toMatchObject({
        'app.kubernetes.io/name': 'imgroup',
        'app.kubernetes.io/instance': 'imgroup',
        'app.kubernetes.io/version': packageVersion(),
        'app.kubernetes.io/managed-by': 'Helm',
        'helm.sh/chart': `imgroup-${packageVersion()}`,
      });
    }
  });

  it('ships the generated CRD unchanged but for labels and the keep annotation', () => {
    const crd = one(defaults, 'CustomResourceDefinition');
    const expected = imGroupClusterCrd();
    expect(crd.metadata?.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    expect({ ...crd, metadata: { name: crd.metadata?.name } }).toEqual({ ...expected, metadata: { name: expected.metadata?.name } });
  });

  it('leaves the CRD out with crds.install=false and unannotated with crds.keep=false', () => {
    expect(find(render({ set: { 'crds.install': false } }), 'CustomResourceDefinition')).toEqual([]);
    expect(one(render({ set: { 'crds.keep': false } }), 'CustomResourceDefinition').metadata?.annotations).toBeUndefined();
  });

  it('grants the rules files: the operator rules cluster-wide, the Lease by name in the release namespace', () => {
    expect(one<V1ClusterRole>(defaults, 'ClusterRole').rules).toEqual(operatorRules);
    const binding = one<V1RoleBinding>(defaults, 'ClusterRoleBinding');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'imgroup-operator', namespace: NS }]);
    const leader = one<V1Role>(defaults, 'Role', 'imgroup-operator-leader-election');
    expect(leader.metadata?.namespace).toBe(NS);
    expect(leader.rules).toContainEqual({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['imgroup-operator'], verbs: ['get', 'update'] });
    expect(env(deployment)).toMatchObject({ IMGROUP_LEADER_LEASE_NAME: 'imgroup-operator', IMGROUP_LEADER_LEASE_NAMESPACE: NS });
  });

  it('with watchNamespace grants the operator rules in that namespace only and tells the operator', () => {
    const objects = render({ set: { watchNamespace: 'chat' } });
    expect(find(objects, 'ClusterRole')).toEqual([]);
    expect(find(objects, 'ClusterRoleBinding')).toEqual([]);
    const role = one<V1Role>(objects, 'Role', 'imgroup-operator');
    expect(role.metadata?.namespace).toBe('chat');
    expect(role.rules).toEqual(operatorRules);
    expect(one<V1RoleBinding>(objects, 'RoleBinding', 'imgroup-operator').metadata?.namespace).toBe('chat');
    expect(env(one<V1Deployment>(objects, 'Deployment'))).toMatchObject({ IMGROUP_OPERATOR_NAMESPACE: 'chat' });
    expect(env(deployment).IMGROUP_OPERATOR_NAMESPACE).toBeUndefined();
  });

  it('runs a Deployment that passes the restricted Pod Security Standard', () => {
    expect(restrictedViolations(pod)).toEqual([]);
    expect(container?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  });

  it('runs `imgroup operator` with an environment the operator accepts, probed on its ops port', () => {
    expect(container?.args).toEqual(['operator']);
    const { options } = resolveOptions(OPERATOR_OPTIONS, [], { ...env(deployment), IMGROUP_OPERATOR_IDENTITY: 'pod-0' });
    expect(options).toMatchObject({ leaseName: 'imgroup-operator', leaseNamespace: NS, workers: 2, redisLifecycle: true, opsPort: 9090 });
    expect(container?.ports).toEqual([{ name: 'ops', containerPort: 9090, protocol: 'TCP' }]);
    expect(container?.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'ops' });
    expect(container?.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'ops' });
    expect(deployment.spec?.replicas).toBe(1);
  });

  it('passes one image to the operator and, as its default, to gate and logic pods', () => {
    expect(container?.image).toBe(`ghcr.io/imgroup/imgroup:${packageVersion()}`);
    expect(env(deployment).IMGROUP_OPERATOR_DEFAULT_IMAGE).toBe(container?.image);
    const digest = `sha256:${'b'.repeat(64)}`;
    const pinned = one<V1Deployment>(render({ set: { image: { repository: 'registry.example/imgroup', tag: 'ignored', digest } } }), 'Deployment');
    expect(pinned.spec?.template.spec?.containers[0]?.image).toBe(`registry.example/imgroup@${digest}`);
    expect(env(pinned).IMGROUP_OPERATOR_DEFAULT_IMAGE).toBe(`registry.example/imgroup@${digest}`);
  });

  it('applies the pod values: HA replicas, pull secrets, placement, priority, annotations', () => {
    const d = one<V1Deployment>(
      render({
        set: {
          replicaCount: 2,
          imagePullSecrets: [{ name: 'regcred' }],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ops', effect: 'NoSchedule' }],
          priorityClassName: 'system-cluster-critical',
          podAnnotations: { 'example.com/a': 'b' },
          resources: { requests: { cpu: '1' } },
        },
      }),
      'Deployment',
    );
    const spec = d.spec?.template.spec;
    expect(d.spec?.replicas).toBe(2);
    expect(spec?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(spec?.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(spec?.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'ops', effect: 'NoSchedule' }]);
    expect(spec?.priorityClassName).toBe('system-cluster-critical');
    expect(d.spec?.template.metadata?.annotations).toEqual({ 'example.com/a': 'b' });
    // Helm merges a map value into the default one: the default memory request and limit stay.
    expect(spec?.containers[0]?.resources).toEqual({ requests: { cpu: '1', memory: '128Mi' }, limits: { memory: '512Mi' } });
    expect(spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.labelSelector?.matchLabels).toEqual(d.spec?.selector.matchLabels);
  });

  it('tells the operator its pods\' namespace (downward API) and labels, which its Redis NetworkPolicies admit', () => {
    const all = container?.env ?? [];
    expect(all.find((e) => e.name === 'IMGROUP_OPERATOR_POD_NAMESPACE')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    const { options } = resolveOptions(OPERATOR_OPTIONS, [], { ...env(deployment), IMGROUP_OPERATOR_IDENTITY: 'pod-0' });
    expect(options.networkPolicies).toBe(true);
    const pods = operatorPods(NS, options.podLabels);
    // Every label it names is on the operator's pods, and together they select the Deployment's pods.
    expect(deployment.spec?.template.metadata?.labels).toMatchObject(pods?.labels ?? { missing: 'labels' });
    expect(pods?.labels).toEqual(deployment.spec?.selector.matchLabels);
    const off = one<V1Deployment>(render({ set: { networkPolicy: { clusters: false } } }), 'Deployment');
    expect(env(off).IMGROUP_OPERATOR_NETWORK_POLICIES).toBe('false');
  });

  it('limits ingress of the operator\'s pods to the ops port, from networkPolicy.operator.metricsFrom', () => {
    const np = one<V1NetworkPolicy>(defaults, 'NetworkPolicy', 'imgroup-operator');
    expect(np.metadata?.namespace).toBe(NS);
    expect(np.spec?.podSelector).toEqual(deployment.spec?.selector);
    expect(np.spec?.policyTypes).toEqual(['Ingress']);
    // Raw YAML: `from` (the typed client would call it `_from`).
    expect(np.spec?.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 'ops' }] }]);
    expect(container?.ports?.map((p) => p.name)).toEqual(['ops']);
    const peers = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
    const limited = one<V1NetworkPolicy>(render({ set: { networkPolicy: { operator: { metricsFrom: peers } } } }), 'NetworkPolicy');
    expect(limited.spec?.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 'ops' }], from: peers }]);
    expect(find(render({ set: { networkPolicy: { operator: { enabled: false } } } }), 'NetworkPolicy')).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown key', { replicas: 2 }, /additional properties|replicas/i],
    ['a wrong type', { replicaCount: 'two' }, /replicaCount/],
    ['a renew deadline not below the lease duration', { leaderElection: { leaseDurationMs: 5000, renewDeadlineMs: 5000, retryPeriodMs: 1000 } }, /renewDeadlineMs must be below/],
  ])('refuses %s', (_case, set, message) => {
    expect(() => helmTemplate(helm as string, { set })).toThrow(message);
  });
});

it('resolveOptions refuses what the chart must never set (a sanity check of the env test above)', () => {
  expect(() => resolveOptions(OPERATOR_OPTIONS, [], { IMGROUP_OPERATOR_WORKERS: '0' })).toThrow(ConfigError);
});
