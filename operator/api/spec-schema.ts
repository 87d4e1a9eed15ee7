/**
 * The schema of `ImGroupCluster.spec`: every field with its description, default, bounds and CEL
 * rules. Bounds that the runtime also enforces are taken from the runtime's own option specs, so
 * the API server rejects what a gate or logic process would refuse at start-up.
 * `make crds` writes the CRD file of the Helm chart from it (operator/api/crd-yaml.ts).
 */
import type { OptionSpec } from '../../runtime/config/options.js';
import { GATE_ONLY_OPTIONS } from '../../runtime/gate/config.js';
import { LOGIC_OWN_OPTIONS } from '../../runtime/logic/config.js';
import { MEMBERSHIP_LIMITS } from '../../runtime/protocol/membership.js';
import { DURATION_PATTERN, formatDurationMs, parseDurationMs } from './duration.js';
import { networkPolicySchema } from './network-policy-schema.js';
import { QUANTITY_PATTERN, resourcesSchema } from './resources-schema.js';
import { boolean, enumOf, integer, intOrString, object, string } from './schema-builder.js';

/**
 * The imgroup runtime image used when neither `spec.image` nor the operator's default image
 * (IMGROUP_OPERATOR_DEFAULT_IMAGE, which the Helm chart sets) is given. Its tag is the package
 * version (a unit test keeps them in step).
 */
export const DEFAULT_IMAGE = 'ghcr.io/imgroup/imgroup:0.1.0';
/** The Redis image used when `spec.redis.image` is not given (Redis 7 or newer is required). */
export const DEFAULT_REDIS_IMAGE = 'redis:7.2';
/** Redis nodes (masters × (1 + replicasPerMaster)) one cluster may have. */
export const MAX_REDIS_NODES = 1000;
export const MIN_REDIS_MASTERS = 3;

function option(specs: readonly OptionSpec[], env: string): OptionSpec & { min: number; max: number } {
  const spec = specs.find((s) => s.env === env);
  if (!spec || spec.min === undefined || spec.max === undefined) throw new Error(`runtime option ${env} with bounds not found`);
  return spec as OptionSpec & { min: number; max: number };
}

const sessionTtl = option(LOGIC_OWN_OPTIONS, 'IMGROUP_SESSION_TTL_MS');
const logCap = option(LOGIC_OWN_OPTIONS, 'IMGROUP_LOG_CAP');
const logRetention = option(LOGIC_OWN_OPTIONS, 'IMGROUP_LOG_RETENTION_MS');
const gatePort = option(GATE_ONLY_OPTIONS, 'IMGROUP_GATE_PORT');
const drainWindow = option(GATE_ONLY_OPTIONS, 'IMGROUP_GATE_DRAIN_WINDOW_MS');
/** Longest drain window the API accepts: 10 minutes (the pods' grace period grows with it). */
const MAX_DRAIN_WINDOW_MS = 600_000;
const minRetention = formatDurationMs(logRetention.min);
const maxRetention = formatDurationMs(logRetention.max);

const gateSchema = object({
  description: 'The gate tier: processes that hold the clients\' WebSocket connections and serve the admin API.',
  default: {},
  properties: {
    replicas: integer({ description: 'Number of gate pods (StatefulSet N-gate). Default 2.', default: 2, minimum: 0, maximum: 1000 }),
    resources: resourcesSchema('gate', { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } }),
    service: object({
      description: 'The Service N-gate through which clients reach the gates (WebSocket /v1/ws and the admin API).',
      default: {},
      properties: {
        type: enumOf(['ClusterIP', 'NodePort', 'LoadBalancer'], { description: 'Service type of N-gate. Default ClusterIP.', default: 'ClusterIP' }),
        port: integer({
          description: 'Port of the Service N-gate; it forwards to the gates\' client port. Default 8080.',
          default: 8080,
          minimum: Math.max(1, gatePort.min),
          maximum: gatePort.max,
        }),
      },
    }),
    drainWindowMs: integer({
      description:
        'A stopping gate (rolling update, scale-down) turns not ready, refuses new WebSocket upgrades with 503 and closes its clients with 1001 spread evenly over this many ms, so that their reconnects do not hit the other gates as one storm (IMGROUP_GATE_DRAIN_WINDOW_MS; 0 = all at once). The gate pods\' terminationGracePeriodSeconds is derived from it. Default 10000.',
      default: 10_000,
      minimum: drainWindow.min,
      maximum: Math.min(drainWindow.max, MAX_DRAIN_WINDOW_MS),
    }),
  },
});

const logicSchema = object({
  description: 'The logic tier: processes that store group messages and fan them out; gates route to them by consistent hashing.',
  default: {},
  properties: {
    replicas: integer({
      description: `Number of logic pods (StatefulSet N-logic); the Ready ones are published in the ConfigMap N-membership. Default 3, at most ${MEMBERSHIP_LIMITS.maxMembers}.`,
      default: 3,
      minimum: 0,
      maximum: MEMBERSHIP_LIMITS.maxMembers,
    }),
    resources: resourcesSchema('logic', { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } }),
  },
});

const storageSchema = object({
  description: 'The PersistentVolumeClaim of every Redis pod (cluster config and append-only file). Fixed once the cluster exists: a StatefulSet cannot change its volume claim templates.',
  default: {},
  properties: {
    size: intOrString({ description: 'Requested size of each Redis pod\'s volume, a quantity. Default 1Gi. Immutable.', default: '1Gi', pattern: QUANTITY_PATTERN }),
    storageClassName: string({
      description: 'StorageClass of the volumes. Default: the cluster\'s default StorageClass. Immutable.',
      minLength: 1,
      maxLength: 253,
    }),
  },
  rules: [
    {
      rule: 'has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)',
      message: 'spec.redis.storage.storageClassName is immutable: the volumes of the Redis pods already exist in their StorageClass',
      fieldPath: '.storageClassName',
      check: (self, old) => old === undefined || self.storageClassName === old.storageClassName,
    },
    {
      rule: 'self.size == oldSelf.size',
      message: 'spec.redis.storage.size is immutable: a StatefulSet cannot change its volume claim templates (expand the PersistentVolumeClaims directly)',
      fieldPath: '.size',
      check: (self, old) => old === undefined || String(self.size) === String(old.size),
    },
  ],
});

/** A Secret's name, as Kubernetes allows it (a DNS subdomain). */
const SECRET_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

const redisTlsSchema = object({
  description:
    'TLS for the Redis Cluster: its nodes serve TLS only, on the client port, the cluster bus and replication; gates, logic nodes and the operator connect with TLS and check the nodes\' certificates against ca.crt. Absent: plain TCP. Can be neither added nor removed once the cluster exists (see the README, "Redis TLS").',
  properties: {
    secretRef: object({
      description:
        'A Secret in the cluster\'s namespace with tls.crt, tls.key and ca.crt (e.g. made by cert-manager): the certificate of every Redis node, valid for *.N-redis.NAMESPACE.svc, for both server and client auth.',
      properties: {
        name: string({ description: 'Name of the Secret. May be changed (the Redis pods roll) to a Secret signed by the same CA.', minLength: 1, maxLength: 253, pattern: SECRET_NAME_PATTERN }),
      },
      required: ['name'],
    }),
  },
  required: ['secretRef'],
});

const redisSchema = object({
  description: 'The Redis Cluster (StatefulSet N-redis) that holds presence and group messages.',
  default: {},
  properties: {
    image: string({ description: `Redis image, Redis 7 or newer (sharded pub/sub, announced hostnames). Default ${DEFAULT_REDIS_IMAGE}.`, default: DEFAULT_REDIS_IMAGE, minLength: 1, maxLength: 512 }),
    masters: integer({
      description: `Redis masters; the 16384 slots are spread evenly over them. At least ${MIN_REDIS_MASTERS} (scale-in stops there). Default 3.`,
      default: 3,
      minimum: MIN_REDIS_MASTERS,
      maximum: 500,
    }),
    replicasPerMaster: integer({ description: 'Replicas of every master; with 0 a master failure loses its slots. Default 1.', default: 1, minimum: 0, maximum: 5 }),
    minReplicasAck: integer({
      description:
        'Replicas of a group\'s master that must acknowledge each message (Redis WAIT) before the sender gets `sent` (IMGROUP_REDIS_MIN_REPLICAS_ACK of logic nodes); at most replicasPerMaster. 0 (default): `sent` once the master has it — asynchronous replication, so a master crash can lose the last acknowledged messages. With 1 a single Redis pod failure loses no acknowledged message, and sends to a master with no replica in sync are refused UNAVAILABLE (retryable) until one is back.',
      default: 0,
      minimum: 0,
      maximum: 5,
    }),
    storage: storageSchema,
    tls: redisTlsSchema,
  },
  rules: [
    {
      rule: 'has(self.tls) == has(oldSelf.tls)',
      message: 'spec.redis.tls can be neither added nor removed on an existing cluster: every Redis node and client would have to switch at once (create a new cluster and move the data instead)',
      fieldPath: '.tls',
      check: (self, old) => old === undefined || (self.tls === undefined) === (old.tls === undefined),
    },
    {
      rule: `self.masters >= ${MIN_REDIS_MASTERS}`,
      message: `spec.redis.masters must be at least ${MIN_REDIS_MASTERS}: a Redis Cluster needs a majority of masters to fail over, and scale-in stops at ${MIN_REDIS_MASTERS}`,
      fieldPath: '.masters',
      check: (self) => self.masters >= MIN_REDIS_MASTERS,
    },
    {
      rule: `self.masters * (1 + self.replicasPerMaster) <= ${MAX_REDIS_NODES}`,
      message: `spec.redis.replicasPerMaster is too large for spec.redis.masters: masters × (1 + replicasPerMaster) must be at most ${MAX_REDIS_NODES} Redis nodes`,
      fieldPath: '.replicasPerMaster',
      check: (self) => self.masters * (1 + self.replicasPerMaster) <= MAX_REDIS_NODES,
    },
    {
      rule: 'self.minReplicasAck <= self.replicasPerMaster',
      message: 'spec.redis.minReplicasAck must be at most spec.redis.replicasPerMaster: a message cannot wait for more replicas than a master has (every send would be refused)',
      fieldPath: '.minReplicasAck',
      check: (self) => self.minReplicasAck <= self.replicasPerMaster,
    },
  ],
});

const sessionSchema = object({
  description: 'The logic nodes\' session cache of group member lists and presence.',
  default: {},
  properties: {
    ttlMs: integer({
      description: `How long a cached member list or presence entry is used, in ms (IMGROUP_SESSION_TTL_MS); 0 disables the cache. Default ${sessionTtl.default}.`,
      default: sessionTtl.default as number,
      minimum: sessionTtl.min,
      maximum: sessionTtl.max,
    }),
    invalidation: boolean({
      description: 'Keep the cache fresh with change notices on Redis sharded pub/sub (IMGROUP_SESSION_INVALIDATION; gates then publish presence changes); false runs plain TTL mode. Default true.',
      default: true,
    }),
  },
});

const offlineSchema = object({
  description: 'How long and how much of each group\'s message log is kept for offline members.',
  default: {},
  properties: {
    retention: string({
      description: `Messages older than this are trimmed (IMGROUP_LOG_RETENTION_MS), a duration such as 168h or 30m (units h, m, s, ms); ${minRetention} to ${maxRetention}. Default 168h.`,
      default: formatDurationMs(logRetention.default as number),
      pattern: DURATION_PATTERN,
      maxLength: 64,
      rules: [
        {
          rule: `!self.matches('${DURATION_PATTERN}') || (duration(self) >= duration('${minRetention}') && duration(self) <= duration('${maxRetention}'))`,
          message: `spec.offline.retention must be between ${minRetention} and ${maxRetention}`,
          check: (self) => {
            const ms = parseDurationMs(self);
            return ms === null || (ms >= logRetention.min && ms <= logRetention.max);
          },
        },
      ],
    }),
    maxPerGroup: integer({
      description: `Messages kept per group (IMGROUP_LOG_CAP); older ones are trimmed as new ones arrive. Default ${logCap.default}.`,
      default: logCap.default as number,
      minimum: logCap.min,
      maximum: logCap.max,
    }),
  },
});

const authSchema = object({
  description: 'The secrets of the cluster: client JWT secret, admin API token, gate↔logic token and Redis password.',
  default: {},
  properties: {
    secretRef: object({
      description:
        'A Secret in the cluster\'s namespace with the keys jwt-secret (at least 32 bytes), admin-token, internal-token and redis-password. Default: the operator generates the Secret N-auth once, with random values, and never rotates it.',
      properties: {
        name: string({ description: 'Name of the Secret.', minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' }),
      },
      required: ['name'],
    }),
  },
});

export const specSchema = object({
  description: 'Desired state of an imgroup cluster: gates, logic nodes and their Redis Cluster. Every field has a default.',
  default: {},
  properties: {
    // No schema default: the API server would store it in every object, and the operator's default
    // image (the Helm chart's image value) could then never reach existing clusters.
    image: string({
      description: `The imgroup runtime image of gate and logic pods. Default: the operator's default image (the Helm chart's image.repository:image.tag or image.digest, IMGROUP_OPERATOR_DEFAULT_IMAGE), else ${DEFAULT_IMAGE}.`,
      minLength: 1,
      maxLength: 512,
    }),
    gate: gateSchema,
    logic: logicSchema,
    redis: redisSchema,
    session: sessionSchema,
    offline: offlineSchema,
    auth: authSchema,
    networkPolicy: networkPolicySchema,
    paused: boolean({ description: 'While true the operator changes nothing (it still reports status). Default false.', default: false }),
  },
});
