/**
 * The three Services: N-gate for clients (type and port from the spec), N-logic and N-redis
 * headless (per-pod DNS names). N-redis publishes not-ready pods too: nodes must find each other
 * by name before the cluster is formed and while a node recovers.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { ImGroupCluster } from '../api/v1alpha1.js';
import { clusterContext } from './cluster-context.js';
import { ownedMeta, selectorLabels } from './object-meta.js';
import { LOGIC_INTERNAL_PORT, REDIS_BUS_PORT, REDIS_PORT } from './ports.js';

export function desiredGateService(cluster: ImGroupCluster): V1Service {
  const ctx = clusterContext(cluster);
  const { type, port } = ctx.spec.gate.service;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMeta(ctx, ctx.names.gate, 'gate'),
    spec: {
      type,
      selector: selectorLabels(ctx, 'gate'),
      ports: [{ name: 'client', port, targetPort: 'client', protocol: 'TCP' }],
    },
  };
}

export function desiredLogicService(cluster: ImGroupCluster): V1Service {
  const ctx = clusterContext(cluster);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMeta(ctx, ctx.names.logic, 'logic'),
    spec: {
      clusterIP: 'None',
      selector: selectorLabels(ctx, 'logic'),
      ports: [{ name: 'internal', port: LOGIC_INTERNAL_PORT, targetPort: 'internal', protocol: 'TCP' }],
    },
  };
}

export function desiredRedisService(cluster: ImGroupCluster): V1Service {
  const ctx = clusterContext(cluster);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMeta(ctx, ctx.names.redis, 'redis'),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selectorLabels(ctx, 'redis'),
      ports: [
        { name: 'redis', port: REDIS_PORT, targetPort: 'redis', protocol: 'TCP' },
        { name: 'bus', port: REDIS_BUS_PORT, targetPort: 'bus', protocol: 'TCP' },
      ],
    },
  };
}
