/**
 * Redis TLS in the pods (spec.redis.tls.secretRef): the Secret's layout, where Redis pods mount
 * all of it (the node's certificate and key, the CA), where gate and logic pods mount ca.crt
 * alone, and the env that makes the runtime connect with TLS. Absent spec.redis.tls: nothing.
 */
import type { V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { RedisServerTlsFiles } from '../../runtime/redis/redis-server-tls.js';
import type { ClusterContext } from './cluster-context.js';

/** Keys of the Secret, as cert-manager writes a kubernetes.io/tls Secret. */
export const REDIS_TLS_SECRET_KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

export const REDIS_TLS_VOLUME = 'redis-tls';
/** Where Redis pods mount the whole Secret. */
export const REDIS_TLS_SERVER_DIR = '/etc/redis/tls';
/** Where gate and logic pods mount ca.crt (IMGROUP_REDIS_TLS_CA_FILE). */
export const REDIS_TLS_CLIENT_DIR = '/etc/imgroup/redis-tls';

/** The Secret's name, or null when Redis serves plain TCP. */
export function redisTlsSecretName(ctx: Pick<ClusterContext, 'spec'>): string | null {
  return ctx.spec.redis.tls?.secretRef.name ?? null;
}

/** redis-server's TLS files in a Redis pod, or null without TLS. */
export function redisServerTlsFiles(ctx: Pick<ClusterContext, 'spec'>): RedisServerTlsFiles | null {
  if (redisTlsSecretName(ctx) === null) return null;
  return {
    certFile: `${REDIS_TLS_SERVER_DIR}/${REDIS_TLS_SECRET_KEYS.cert}`,
    keyFile: `${REDIS_TLS_SERVER_DIR}/${REDIS_TLS_SECRET_KEYS.key}`,
    caFile: `${REDIS_TLS_SERVER_DIR}/${REDIS_TLS_SECRET_KEYS.ca}`,
  };
}

type VolumeWithMount = { volume: V1Volume; mount: V1VolumeMount };

/**
 * The Secret as a volume (readable by the pods' group, fsGroup; not by others) with the given
 * keys, mounted read-only at `dir`. Not optional: a pod waits for the Secret rather than start
 * without TLS.
 */
function secretVolume(secretName: string, keys: readonly string[], dir: string): VolumeWithMount {
  return {
    volume: { name: REDIS_TLS_VOLUME, secret: { secretName, defaultMode: 0o440, optional: false, items: keys.map((key) => ({ key, path: key })) } },
    mount: { name: REDIS_TLS_VOLUME, mountPath: dir, readOnly: true },
  };
}

/** Redis pods: certificate, key and CA. */
export function redisServerTlsVolumes(ctx: Pick<ClusterContext, 'spec'>): VolumeWithMount[] {
  const name = redisTlsSecretName(ctx);
  if (name === null) return [];
  const k = REDIS_TLS_SECRET_KEYS;
  return [secretVolume(name, [k.cert, k.key, k.ca], REDIS_TLS_SERVER_DIR)];
}

/** Gate and logic pods: the CA only (they never hold the nodes' private key). */
export function redisClientTlsVolumes(ctx: Pick<ClusterContext, 'spec'>): VolumeWithMount[] {
  const name = redisTlsSecretName(ctx);
  if (name === null) return [];
  return [secretVolume(name, [REDIS_TLS_SECRET_KEYS.ca], REDIS_TLS_CLIENT_DIR)];
}

/** Gate and logic env (runtime/config/common-options.ts): connect with TLS, trusting ca.crt. */
export function redisClientTlsEnv(ctx: Pick<ClusterContext, 'spec'>): V1EnvVar[] {
  if (redisTlsSecretName(ctx) === null) return [];
  return [
    { name: 'IMGROUP_REDIS_TLS', value: 'true' },
    { name: 'IMGROUP_REDIS_TLS_CA_FILE', value: `${REDIS_TLS_CLIENT_DIR}/${REDIS_TLS_SECRET_KEYS.ca}` },
  ];
}
