/**
 * The operator installed by hand, without the chart: a Deployment (in-cluster configuration, the
 * restricted Pod Security profile), its ServiceAccount, a ClusterRole with exactly the API use of
 * the operator (operator/controller, reconcile, leader-election) and a Role for its leader Lease.
 * What a chart must render, written out once: the first end-to-end test runs the operator as a pod
 * with it, before and independently of the chart.
 */
import { RbacAuthorizationV1Api, type V1Deployment, type V1PolicyRule } from '@kubernetes/client-node';
import { GROUP, PLURAL } from '../../../operator/api/v1alpha1.js';
import type { KubeClients } from '../operator-fixture.js';

export const OPERATOR_SA = 'imgroup-operator';
export const OPERATOR_LEASE = 'imgroup-operator';
const IMAGE = 'ghcr.io/imgroup/imgroup:0.1.0';

/** What the operator does to the API (operator/controller, reconcile, leader-election). */
export const OPERATOR_CLUSTER_RULES: V1PolicyRule[] = [
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['get', 'update', 'patch'] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/finalizers`], verbs: ['update'] },
  { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['services', 'configmaps', 'serviceaccounts', 'secrets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
];
export const OPERATOR_LEASE_RULES: V1PolicyRule[] = [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }];

const RESTRICTED_CONTAINER = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };

export function operatorDeployment(namespace: string, instance = 'imgroup-by-hand'): V1Deployment {
  const labels = { 'app.kubernetes.io/name': 'imgroup-operator', 'app.kubernetes.io/instance': instance };
  return {
    metadata: { name: 'imgroup-operator', namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: OPERATOR_SA,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'operator',
              image: IMAGE,
              args: ['operator'],
              env: [
                { name: 'IMGROUP_OPERATOR_IDENTITY', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'IMGROUP_LOG_LEVEL', value: 'info' },
              ],
              ports: [{ name: 'ops', containerPort: 9090 }],
              readinessProbe: { httpGet: { path: '/readyz', port: 'ops' }, periodSeconds: 2 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'ops' }, periodSeconds: 10 },
              securityContext: RESTRICTED_CONTAINER,
            },
          ],
        },
      },
    },
  };
}

/**
 * Create the ServiceAccount, RBAC and Deployment in `namespace`; the ClusterRole and its binding
 * are named `<namespace>-operator`. Returns what removes the cluster-scoped part (the namespace's
 * deletion removes the rest).
 */
export async function installOperatorByHand(k: KubeClients, namespace: string, instance?: string): Promise<() => Promise<void>> {
  const rbac = k.kc.makeApiClient(RbacAuthorizationV1Api);
  const clusterRole = `${namespace}-operator`;
  const subjects = [{ kind: 'ServiceAccount', name: OPERATOR_SA, namespace }];
  await k.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: OPERATOR_SA } } });
  await rbac.createClusterRole({ body: { metadata: { name: clusterRole }, rules: OPERATOR_CLUSTER_RULES } });
  await rbac.createClusterRoleBinding({ body: { metadata: { name: clusterRole }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole }, subjects } });
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name: 'imgroup-operator-leader' }, rules: OPERATOR_LEASE_RULES } });
  await rbac.createNamespacedRoleBinding({ namespace, body: { metadata: { name: 'imgroup-operator-leader' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'imgroup-operator-leader' }, subjects } });
  await k.apps.createNamespacedDeployment({ namespace, body: operatorDeployment(namespace, instance) });
  return async () => {
    await rbac.deleteClusterRoleBinding({ name: clusterRole }).catch(() => undefined);
    await rbac.deleteClusterRole({ name: clusterRole }).catch(() => undefined);
  };
}
