/**
 * StatefulSet N-redis: the Redis Cluster's nodes, masters × (1 + replicasPerMaster) pods with
 * stable names and a volume each. Roles (master or replica) are not tied to ordinals: the
 * operator's cluster admin assigns them. Pods start in parallel (the cluster is formed only when
 * all of them run) and are Ready when Redis accepts connections; cluster health is the
 * operator's business, not the kubelet's.
 *
 * Scale-in must not remove pods that still own slots: the reconciler passes `replicas` (the count
 * to apply now) and lowers it only after the leaving nodes were drained and forgotten. A pod
 * removed by a scale-in loses its volume (whenScaled: Delete), so a later scale-out starts a fresh
 * node instead of one with a stale nodes.conf; deleting the StatefulSet keeps the volumes.
 */
import type { V1Container, V1StatefulSet } from '@kubernetes/client-node';
import type { ImGroupCluster, ImGroupClusterSpec } from '../api/v1alpha1.js';
import { AUTH_SECRET_KEYS, contextAuthSecretName } from './auth-secret.js';
import { type ClusterContext, clusterContext } from './cluster-context.js';
import { ownedLabels, ownedMeta, selectorLabels } from './object-meta.js';
import { containerSecurityContext, podSecurityContext, spreadOverNodes } from './pod-security.js';
import { REDIS_BUS_PORT, REDIS_PORT } from './ports.js';
import { podRedisNodeConfig, REDIS_DATA_DIR, REDIS_ENV, redisServerArgs } from './redis-config.js';
import { redisServerTlsVolumes } from './redis-tls.js';
import { TERMINATION_GRACE_SECONDS } from './runtime-pod.js';

export const REDIS_VOLUME = 'data';
/** Fixed requests of a Redis container (the spec has no Redis resources field). */
export const REDIS_RESOURCES = { requests: { cpu: '100m', memory: '256Mi' } } as const;

/** Redis pods the spec asks for: masters × (1 + replicasPerMaster). */
export function redisTargetReplicas(spec: Pick<ImGroupClusterSpec, 'redis'>): number {
  return spec.redis.masters * (1 + spec.redis.replicasPerMaster);
}

function redisContainer(ctx: ClusterContext): V1Container {
  const secretName = contextAuthSecretName(ctx);
  const password = { secretKeyRef: { name: secretName, key: AUTH_SECRET_KEYS.redisPassword, optional: false } };
  return {
    name: 'redis',
    image: ctx.spec.redis.image,
    command: ['redis-server'],
    args: redisServerArgs(podRedisNodeConfig(ctx)),
    env: [
      { name: REDIS_ENV.podIp, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: REDIS_ENV.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: REDIS_ENV.password, valueFrom: password },
      // redis-cli reads it: `kubectl exec … -- redis-cli -h $POD_IP` works without typing the password.
      { name: 'REDISCLI_AUTH', valueFrom: password },
    ],
    ports: [
      { name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' },
      { name: 'bus', containerPort: REDIS_BUS_PORT, protocol: 'TCP' },
    ],
    resources: { requests: { ...REDIS_RESOURCES.requests } },
    readinessProbe: { tcpSocket: { port: 'redis' }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2, successThreshold: 1 },
    livenessProbe: { tcpSocket: { port: 'redis' }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 6, successThreshold: 1 },
    securityContext: containerSecurityContext(),
    volumeMounts: [{ name: REDIS_VOLUME, mountPath: REDIS_DATA_DIR }, ...redisServerTlsVolumes(ctx).map((v) => v.mount)],
  };
}

/**
 * The StatefulSet N-redis. `replicas` is the pod count to apply now (default: the spec's target);
 * the reconciler holds it above the target until a scale-in has drained the leaving nodes.
 */
export function desiredRedisStatefulSet(cluster: ImGroupCluster, inputs: { replicas?: number } = {}): V1StatefulSet {
  const ctx = clusterContext(cluster);
  const replicas = inputs.replicas ?? redisTargetReplicas(ctx.spec);
  if (!Number.isSafeInteger(replicas) || replicas < 0) throw new RangeError(`redis replicas ${replicas} is not a count`);
  const storage = ctx.spec.redis.storage;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: ownedMeta(ctx, ctx.names.redis, 'redis'),
    spec: {
      serviceName: ctx.names.redis,
      replicas,
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: selectorLabels(ctx, 'redis') },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' },
      template: {
        metadata: { labels: ownedLabels(ctx, 'redis') },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          securityContext: podSecurityContext(),
          affinity: spreadOverNodes(selectorLabels(ctx, 'redis')),
          containers: [redisContainer(ctx)],
          ...(ctx.spec.redis.tls ? { volumes: redisServerTlsVolumes(ctx).map((v) => v.volume) } : {}),
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: REDIS_VOLUME, labels: ownedLabels(ctx, 'redis') },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: String(storage.size) } },
            ...(storage.storageClassName !== undefined ? { storageClassName: storage.storageClassName } : {}),
          },
        },
      ],
    },
  };
}
