/**
 * The cluster's secrets: client JWT secret, admin API token, gate↔logic token and Redis password.
 * They come from the Secret named by `spec.auth.secretRef`, or else from `N-auth`, which the
 * reconciler creates with `desiredAuthSecret` ONLY when it does not exist, and never updates or
 * rotates (pods read the values at start; a silent rotation would split gates from logic nodes).
 * The random values are an input, so this stays pure: `newAuthSecretValues(crypto.randomBytes)`.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { MIN_JWT_SECRET_BYTES } from '../../runtime/gate/config.js';
import type { ImGroupCluster } from '../api/v1alpha1.js';
import { type ClusterContext, clusterContext } from './cluster-context.js';
import { ownedMeta } from './object-meta.js';

/** The keys the Secret must have, by the value they hold. */
export const AUTH_SECRET_KEYS = {
  jwtSecret: 'jwt-secret',
  adminToken: 'admin-token',
  internalToken: 'internal-token',
  redisPassword: 'redis-password',
} as const;

export type AuthSecretValues = Record<keyof typeof AUTH_SECRET_KEYS, string>;

/** Random bytes behind each generated value (base64url: 43 characters). */
export const GENERATED_SECRET_BYTES = 32;

/** Fresh values from a random source such as node:crypto's `randomBytes`. */
export function newAuthSecretValues(randomBytes: (size: number) => Uint8Array): AuthSecretValues {
  const value = () => Buffer.from(randomBytes(GENERATED_SECRET_BYTES)).toString('base64url');
  return { jwtSecret: value(), adminToken: value(), internalToken: value(), redisPassword: value() };
}

/** The Secret the pods read: `spec.auth.secretRef.name`, or the generated `N-auth`. */
export function authSecretName(cluster: ImGroupCluster): string {
  return contextAuthSecretName(clusterContext(cluster));
}

/** authSecretName for a cluster context (desired-state internals). */
export function contextAuthSecretName(ctx: ClusterContext): string {
  return ctx.spec.auth.secretRef?.name ?? ctx.names.generatedAuth;
}

/** True when the operator must make sure `N-auth` exists (no secretRef given). */
export function usesGeneratedAuthSecret(cluster: ImGroupCluster): boolean {
  return clusterContext(cluster).spec.auth.secretRef === undefined;
}

/**
 * The Secret `N-auth` with the given values (create it only when absent). Throws RangeError for
 * values the runtime would refuse in production mode (empty, or a JWT secret under 32 bytes).
 */
export function desiredAuthSecret(cluster: ImGroupCluster, values: AuthSecretValues): V1Secret {
  const ctx = clusterContext(cluster);
  const data: Record<string, string> = {};
  for (const [field, key] of Object.entries(AUTH_SECRET_KEYS) as [keyof AuthSecretValues, string][]) {
    const value = values[field];
    if (typeof value !== 'string' || value.length === 0) throw new RangeError(`auth secret value ${field} (${key}) is empty`);
    data[key] = Buffer.from(value, 'utf8').toString('base64');
  }
  if (Buffer.byteLength(values.jwtSecret, 'utf8') < MIN_JWT_SECRET_BYTES) {
    throw new RangeError(`auth secret value jwtSecret (${AUTH_SECRET_KEYS.jwtSecret}) must have at least ${MIN_JWT_SECRET_BYTES} bytes`);
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: ownedMeta(ctx, ctx.names.generatedAuth, null),
    type: 'Opaque',
    data,
  };
}
