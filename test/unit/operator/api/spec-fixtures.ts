/**
 * Specs shared by the operator's API and desired-state tests: the minimal spec and a full
 * spec that sets every field (to a value other than its default).
 */
import type { ImGroupClusterSpec, ImGroupClusterSpecInput } from '../../../../operator/api/v1alpha1.js';

export const MINIMAL_SPEC: ImGroupClusterSpecInput = { gate: { replicas: 2 }, logic: { replicas: 3 }, redis: { masters: 3, replicasPerMaster: 1 } };

/** Every field of the spec, none at its default. */
export const FULL_SPEC: ImGroupClusterSpec = {
  image: 'registry.example/imgroup:1.2.3',
  gate: {
    replicas: 4,
    resources: { requests: { cpu: '500m', memory: '300Mi' }, limits: { cpu: 2, memory: '2Gi' } },
    service: { type: 'LoadBalancer', port: 443 },
    drainWindowMs: 20_000,
  },
  logic: {
    replicas: 5,
    resources: { requests: { cpu: 1, memory: '1Gi' }, limits: { memory: '3Gi' } },
  },
  redis: {
    image: 'redis:7.4',
    masters: 5,
    replicasPerMaster: 2,
    minReplicasAck: 1,
    storage: { size: '20Gi', storageClassName: 'fast-ssd' },
    tls: { secretRef: { name: 'chat-redis-tls' } },
  },
  session: { ttlMs: 5000, invalidation: false },
  offline: { retention: '48h', maxPerGroup: 500 },
  auth: { secretRef: { name: 'chat-secrets' } },
  networkPolicy: {
    enabled: false,
    clientFrom: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }, { namespaceSelector: { matchLabels: { tier: 'edge' } }, podSelector: { matchLabels: { app: 'proxy' } } }],
    metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
  },
  paused: true,
};
