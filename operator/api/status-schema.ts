/**
 * The schema of `ImGroupCluster.status`, written only by the operator through the status
 * subresource. Every field the operator writes must be declared here: the API server prunes
 * unknown fields. The Redis part leaves room for the cluster lifecycle (shards, migration).
 */
import { arrayOf, enumOf, integer, object, string } from './schema-builder.js';

/** Condition types the operator sets. */
export const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded', 'MembershipPublished', 'ClusterFormed', 'SlotsAssigned', 'SecretsApplied'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** The states of the Redis Cluster as `status.redis.state` reports them. */
export const REDIS_STATES = ['Pending', 'Bootstrapping', 'Healthy', 'Migrating', 'Degraded', 'Failed'] as const;

/** Slots of a Redis Cluster. */
export const REDIS_SLOTS = 16384;

const POD_NAME = { minLength: 1, maxLength: 253 } as const;

function tierStatus(tier: string) {
  return object({
    description: `Pods of the ${tier} tier.`,
    properties: {
      replicas: integer({ description: `Desired ${tier} pods.`, minimum: 0 }),
      ready: integer({ description: `Ready ${tier} pods.`, minimum: 0 }),
    },
    required: ['replicas', 'ready'],
  });
}

/** metav1.Condition, as every Kubernetes API declares it. */
export const conditionSchema = object({
  description: 'One aspect of the cluster\'s state (metav1.Condition).',
  properties: {
    type: string({ description: `Type of the condition: ${CONDITION_TYPES.join(', ')}.`, maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' }),
    status: enumOf(['True', 'False', 'Unknown'], { description: 'True, False or Unknown.' }),
    reason: string({ description: 'Programmatic identifier of the reason for the last transition, in CamelCase.', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
    message: string({ description: 'Human-readable details of the last transition.', maxLength: 32768 }),
    observedGeneration: integer({ description: 'metadata.generation the condition was set for.', minimum: 0 }),
    lastTransitionTime: string({ description: 'When the status last changed (RFC 3339).', format: 'date-time' }),
  },
  required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
});

const shardSchema = object({
  description: 'One master and its replicas.',
  properties: {
    master: string({ description: 'Pod name of the master.', ...POD_NAME }),
    replicas: arrayOf(string({ description: 'Pod name of a replica.', ...POD_NAME }), { description: 'Pod names of the master\'s replicas.', maxItems: 16, listType: 'atomic' }),
    slots: integer({ description: 'Slots the master serves.', minimum: 0, maximum: REDIS_SLOTS }),
  },
  required: ['master'],
});

const migrationSchema = object({
  description: 'The slot migration in progress (scale out or in), resumable after an operator restart.',
  properties: {
    source: string({ description: 'Pod name of the master slots move from.', ...POD_NAME }),
    target: string({ description: 'Pod name of the master slots move to.', ...POD_NAME }),
    slotsPlanned: integer({ description: 'Slots this migration moves in all.', minimum: 0, maximum: REDIS_SLOTS }),
    slotsMoved: integer({ description: 'Slots moved so far.', minimum: 0, maximum: REDIS_SLOTS }),
  },
});

const redisStatusSchema = object({
  description: 'The Redis Cluster.',
  properties: {
    state: enumOf(REDIS_STATES, { description: `${REDIS_STATES.join(', ')}.` }),
    slotsAssigned: integer({ description: `Slots assigned to a master, of ${REDIS_SLOTS}.`, minimum: 0, maximum: REDIS_SLOTS }),
    ready: integer({ description: 'Redis pods that are Ready.', minimum: 0 }),
    shards: arrayOf(shardSchema, { description: 'Masters and their replicas.', maxItems: 1000, listType: 'atomic' }),
    migration: migrationSchema,
    message: string({ description: 'What the operator is doing or waiting for.', maxLength: 32768 }),
  },
  required: ['state', 'slotsAssigned'],
});

export const statusSchema = object({
  description: 'Observed state of the cluster, written by the operator.',
  properties: {
    observedGeneration: integer({ description: 'metadata.generation the operator last acted on.', minimum: 0 }),
    gate: tierStatus('gate'),
    logic: tierStatus('logic'),
    membership: object({
      description: 'The membership document published in the ConfigMap N-membership.',
      properties: {
        version: string({ description: 'Version of the document; changes exactly when the member list changes.', maxLength: 256 }),
        members: integer({ description: 'Logic pods in the document (Ready and not terminating).', minimum: 0 }),
      },
      required: ['version', 'members'],
    }),
    redis: redisStatusSchema,
    conditions: arrayOf(conditionSchema, {
      description: `Conditions of the cluster: ${CONDITION_TYPES.join(', ')}.`,
      maxItems: 32,
      listType: 'map',
      listMapKeys: ['type'],
    }),
  },
});
