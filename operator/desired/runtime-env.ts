/**
 * The environment of gate and logic containers: the runtime's configuration exactly as its option
 * specs read it (runtime/config/common-options.ts, runtime/gate/config.ts, runtime/logic/config.ts),
 * in production mode, with secrets by secretKeyRef and the node name from the pod name.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { parseDurationMs } from '../api/duration.js';
import { AUTH_SECRET_KEYS, contextAuthSecretName } from './auth-secret.js';
import type { ClusterContext } from './cluster-context.js';
import { GATE_CLIENT_PORT, GATE_OPS_PORT, LOGIC_INTERNAL_PORT, LOGIC_OPS_PORT, REDIS_PORT } from './ports.js';
import { gateShutdownBudget } from './grace-period.js';
import { redisPodHost } from './redis-config.js';
import { redisClientTlsEnv } from './redis-tls.js';

/** Where gate pods mount the ConfigMap N-membership (IMGROUP_MEMBERSHIP_FILE). */
export const MEMBERSHIP_MOUNT_DIR = '/etc/imgroup/membership';
export const MEMBERSHIP_KEY = 'membership.json';

/**
 * Redis pods named in IMGROUP_REDIS_SEEDS: ordinals 0..2, which exist in every cluster (at least
 * 3 masters). A fixed list, so scaling Redis does not change the gate and logic pod templates
 * (which would restart every gate and drop its clients); clients discover the other nodes.
 */
export const REDIS_SEED_ORDINALS = 3;

function value(name: string, v: string | number | boolean): V1EnvVar {
  return { name, value: String(v) };
}

function secret(ctx: ClusterContext, name: string, key: string): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: contextAuthSecretName(ctx), key, optional: false } } };
}

export function redisSeeds(ctx: ClusterContext): string {
  return Array.from({ length: REDIS_SEED_ORDINALS }, (_, i) => `${redisPodHost(ctx, i)}:${REDIS_PORT}`).join(',');
}

/** Env both processes read (COMMON_OPTIONS). */
function commonEnv(ctx: ClusterContext): V1EnvVar[] {
  return [
    value('IMGROUP_MODE', 'production'),
    { name: 'IMGROUP_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    value('IMGROUP_REDIS_SEEDS', redisSeeds(ctx)),
    secret(ctx, 'IMGROUP_REDIS_PASSWORD', AUTH_SECRET_KEYS.redisPassword),
    secret(ctx, 'IMGROUP_INTERNAL_TOKEN', AUTH_SECRET_KEYS.internalToken),
    ...redisClientTlsEnv(ctx),
  ];
}

/**
 * Gate env. IMGROUP_MEMBERSHIP_CONFIGMAP (`<namespace>/<name>`) is the API source the gate
 * watches with its ServiceAccount: it must get/list/watch with `fieldSelector=metadata.name=<name>`,
 * because its Role grants those verbs for that one name only (a list or watch without the field
 * selector is forbidden). IMGROUP_MEMBERSHIP_FILE points at the same ConfigMap mounted as a file,
 * the fallback a gate without the API source uses.
 */
export function gateEnv(ctx: ClusterContext): V1EnvVar[] {
  return [
    ...commonEnv(ctx),
    value('IMGROUP_GATE_PORT', GATE_CLIENT_PORT),
    value('IMGROUP_OPS_PORT', GATE_OPS_PORT),
    secret(ctx, 'IMGROUP_JWT_SECRET', AUTH_SECRET_KEYS.jwtSecret),
    secret(ctx, 'IMGROUP_ADMIN_TOKEN', AUTH_SECRET_KEYS.adminToken),
    value('IMGROUP_MEMBERSHIP_FILE', `${MEMBERSHIP_MOUNT_DIR}/${MEMBERSHIP_KEY}`),
    value('IMGROUP_MEMBERSHIP_CONFIGMAP', `${ctx.namespace}/${ctx.names.membership}`),
    value('IMGROUP_PRESENCE_PUBLISH', ctx.spec.session.invalidation),
    value('IMGROUP_GATE_DRAIN_WINDOW_MS', ctx.spec.gate.drainWindowMs),
    value('IMGROUP_GATE_SHUTDOWN_TIMEOUT_MS', gateShutdownBudget(ctx.spec.gate.drainWindowMs).shutdownTimeoutMs),
  ];
}

/** Logic env: its ports, the session cache, the offline log bounds and the replica acks from the spec. */
export function logicEnv(ctx: ClusterContext): V1EnvVar[] {
  const retentionMs = parseDurationMs(ctx.spec.offline.retention);
  if (retentionMs === null) throw new RangeError(`spec.offline.retention ${JSON.stringify(ctx.spec.offline.retention)} is not a duration`);
  return [
    ...commonEnv(ctx),
    value('IMGROUP_LOGIC_PORT', LOGIC_INTERNAL_PORT),
    value('IMGROUP_OPS_PORT', LOGIC_OPS_PORT),
    value('IMGROUP_SESSION_TTL_MS', ctx.spec.session.ttlMs),
    value('IMGROUP_SESSION_INVALIDATION', ctx.spec.session.invalidation),
    value('IMGROUP_LOG_RETENTION_MS', retentionMs),
    value('IMGROUP_LOG_CAP', ctx.spec.offline.maxPerGroup),
    // Only when set: clusters at the default keep their logic pod template (no rollout on upgrade).
    ...(ctx.spec.redis.minReplicasAck > 0 ? [value('IMGROUP_REDIS_MIN_REPLICAS_ACK', ctx.spec.redis.minReplicasAck)] : []),
  ];
}
