/**
 * The `ImGroupCluster` custom resource, `imgroup.dev/v1alpha1` (short name `igc`).
 *
 * These interfaces are what the operator reads; spec-schema.ts and status-schema.ts hold the same
 * fields with their descriptions, defaults and rules, and schema-agreement.ts makes the compiler
 * check that both say the same. `ImGroupClusterSpec` is the spec after defaulting (defaults.ts):
 * every field with a default is present; a minimal object such as
 *   spec: {gate: {replicas: 2}, logic: {replicas: 3}, redis: {masters: 3, replicasPerMaster: 1}}
 * defaults to a complete one.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { CONDITION_TYPES, type ConditionType } from './status-schema.js';

export { CONDITION_TYPES, type ConditionType, REDIS_SLOTS, REDIS_STATES } from './status-schema.js';

export const GROUP = 'imgroup.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ImGroupCluster';
export const LIST_KIND = 'ImGroupClusterList';
export const PLURAL = 'imgroupclusters';
export const SINGULAR = 'imgroupcluster';
export const SHORT_NAME = 'igc';
/** `<plural>.<group>`: the CRD's name. */
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** A resource quantity: `500m`, `512Mi`, `2`. */
export type Quantity = string | number;

/** The limits and requests of a core/v1 ResourceRequirements. */
export interface ResourceRequirements {
  limits?: Record<string, Quantity>;
  requests?: Record<string, Quantity>;
}

export type GateServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

export interface GateServiceSpec {
  /** Service type of N-gate. Default ClusterIP. */
  type: GateServiceType;
  /** Port of the Service N-gate (forwards to the gates' client port). Default 8080. */
  port: number;
}

export interface GateSpec {
  /** Gate pods. Default 2. */
  replicas: number;
  /** Default requests cpu 250m, memory 256Mi; limits memory 1Gi. */
  resources: ResourceRequirements;
  service: GateServiceSpec;
  /**
   * IMGROUP_GATE_DRAIN_WINDOW_MS: a stopping gate closes its clients with 1001 spread over this
   * many ms. Default 10000. The pods' terminationGracePeriodSeconds follows from it.
   */
  drainWindowMs: number;
}

export interface LogicSpec {
  /** Logic pods. Default 3, at most 1024 (the membership document's bound). */
  replicas: number;
  /** Default requests cpu 250m, memory 512Mi; limits memory 1Gi. */
  resources: ResourceRequirements;
}

export interface RedisStorageSpec {
  /** Volume size of each Redis pod. Default 1Gi. Immutable. */
  size: Quantity;
  /** StorageClass; absent = the cluster's default class. Immutable. */
  storageClassName?: string;
}

export interface RedisSpec {
  /** Default redis:7.2. */
  image: string;
  /** Masters, at least 3 (never scaled in below). Default 3. */
  masters: number;
  /** Replicas of every master, 0-5. Default 1. */
  replicasPerMaster: number;
  /**
   * IMGROUP_REDIS_MIN_REPLICAS_ACK of logic nodes: replicas that must acknowledge a message (WAIT)
   * before it is reported sent; at most replicasPerMaster. Default 0 (asynchronous replication).
   */
  minReplicasAck: number;
  storage: RedisStorageSpec;
  /** Absent: Redis serves plain TCP. Can be neither added nor removed once the cluster exists. */
  tls?: RedisTlsSpec;
}

export interface RedisTlsSpec {
  /** A Secret in the cluster's namespace with tls.crt, tls.key and ca.crt (desired/redis-tls.ts). */
  secretRef: { name: string };
}

export interface SessionSpec {
  /** IMGROUP_SESSION_TTL_MS of logic nodes; 0 disables the session cache. Default 30000. */
  ttlMs: number;
  /** IMGROUP_SESSION_INVALIDATION of logic nodes (and IMGROUP_PRESENCE_PUBLISH of gates). Default true. */
  invalidation: boolean;
}

export interface OfflineSpec {
  /** A duration (`168h`, `30m`; units h m s ms) → IMGROUP_LOG_RETENTION_MS. Default 168h. */
  retention: string;
  /** IMGROUP_LOG_CAP: messages kept per group. Default 10000. */
  maxPerGroup: number;
}

export interface SecretReference {
  /** A Secret in the cluster's namespace with the keys of AUTH_SECRET_KEYS (desired/auth-secret.ts). */
  name: string;
}

export interface AuthSpec {
  /** Absent: the operator generates the Secret N-auth once and never rotates it. */
  secretRef?: SecretReference;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
}

export interface IpBlock {
  cidr: string;
  except?: string[];
}

/** A NetworkPolicyPeer: ipBlock, or namespaceSelector and/or podSelector. */
export interface NetworkPolicyPeer {
  ipBlock?: IpBlock;
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
}

export interface NetworkPolicySpec {
  /** Make NetworkPolicies N-gate, N-logic, N-redis. Default true. */
  enabled: boolean;
  /** Who may reach the gates' client port. Absent: any source. */
  clientFrom?: NetworkPolicyPeer[];
  /** Who may reach the ops (metrics) ports. Absent: every pod of every namespace. */
  metricsFrom?: NetworkPolicyPeer[];
}

/** The spec after defaulting. */
export interface ImGroupClusterSpec {
  /** The imgroup runtime image. Absent: the operator's default image (runtime-pod.ts). */
  image?: string;
  gate: GateSpec;
  logic: LogicSpec;
  redis: RedisSpec;
  session: SessionSpec;
  offline: OfflineSpec;
  auth: AuthSpec;
  networkPolicy: NetworkPolicySpec;
  /** While true the operator changes nothing. Default false. */
  paused: boolean;
}

type DeepPartial<T> = T extends readonly (infer I)[] ? DeepPartial<I>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** The spec as a user writes it: every field optional (defaults.ts fills them in). */
export type ImGroupClusterSpecInput = DeepPartial<ImGroupClusterSpec>;

export interface TierStatus {
  /** Desired pods. */
  replicas: number;
  /** Ready pods. */
  ready: number;
}

export interface MembershipStatus {
  /** Version of the published membership document. */
  version: string;
  /** Members in it. */
  members: number;
}

export type RedisState = 'Pending' | 'Bootstrapping' | 'Healthy' | 'Migrating' | 'Degraded' | 'Failed';

export interface RedisShardStatus {
  master: string;
  replicas?: string[];
  slots?: number;
}

export interface RedisMigrationStatus {
  source?: string;
  target?: string;
  slotsPlanned?: number;
  slotsMoved?: number;
}

export interface RedisClusterStatus {
  state: RedisState;
  /** Slots assigned to a master, of 16384. */
  slotsAssigned: number;
  ready?: number;
  shards?: RedisShardStatus[];
  migration?: RedisMigrationStatus;
  message?: string;
}

/** metav1.Condition as JSON (lastTransitionTime an RFC 3339 string). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface ImGroupClusterStatus {
  observedGeneration?: number;
  gate?: TierStatus;
  logic?: TierStatus;
  membership?: MembershipStatus;
  redis?: RedisClusterStatus;
  conditions?: Condition[];
}

/** The custom resource as read from the API server (spec defaulted there, but not trusted to be). */
export interface ImGroupCluster {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: ImGroupClusterSpecInput;
  status?: ImGroupClusterStatus;
}

/** A condition type the operator sets (a Condition's `type` may hold others written by hand). */
export function isKnownConditionType(type: string): type is ConditionType {
  return (CONDITION_TYPES as readonly string[]).includes(type);
}
