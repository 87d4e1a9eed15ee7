/**
 * From the Kubernetes side to the Redis lifecycle engine and back, pure: the N-redis pods as the
 * engine sees them (name, ordinal, pod IP, Ready, node), and one engine step's result as
 * `status.redis` plus the conditions ClusterFormed and SlotsAssigned; a Redis observation
 * (redis-observations.ts) as `status.redis` and the conditions it sets, decided by its kind.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { RedisClusterStatus } from '../api/v1alpha1.js';
import type { RedisLifecycleResult, RedisPodView } from '../redis/lifecycle-types.js';
import { redisStatusOf } from '../redis/lifecycle-status.js';
import type { ConditionInput } from './conditions.js';
import { observationMessage, type RedisObservation } from './redis-observations.js';

/** Status messages are bounded (the schema allows 32 KiB; a status should stay readable). */
const MAX_MESSAGE_CHARS = 2000;

/** `N-redis-<ordinal>` pods of the cluster as the engine sees them; other names are ignored. */
export function redisPodViews(pods: readonly V1Pod[], statefulSetName: string): RedisPodView[] {
  const views: RedisPodView[] = [];
  const prefix = `${statefulSetName}-`;
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    if (!name.startsWith(prefix)) continue;
    const suffix = name.slice(prefix.length);
    if (!/^(0|[1-9]\d{0,5})$/.test(suffix)) continue;
    const terminating = pod.metadata?.deletionTimestamp !== undefined && pod.metadata?.deletionTimestamp !== null;
    const ready = !terminating && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    views.push({ name, ordinal: Number(suffix), ip: pod.status?.podIP ?? null, ready, failureDomain: pod.spec?.nodeName ?? null });
  }
  return views.sort((a, b) => a.ordinal - b.ordinal);
}

/** `status.redis` from one step, with the Ready pod count and the problems found. */
export function redisStatusFromStep(result: RedisLifecycleResult, readyPods: number): RedisClusterStatus {
  const status = redisStatusOf(result);
  const message = [status.message ?? '', ...result.problems].filter((x) => x.length > 0).join('; ');
  return { ...status, ready: readyPods, ...(message ? { message: message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : message } : {}) };
}

/** `status.redis` while the engine could not run (no pods yet, no password, engine error). */
export function redisPendingStatus(previous: RedisClusterStatus | undefined, readyPods: number, message: string): RedisClusterStatus {
  return {
    ...(previous ?? { slotsAssigned: 0 }),
    state: previous?.state === 'Healthy' || previous?.state === 'Migrating' ? 'Degraded' : (previous?.state ?? 'Pending'),
    slotsAssigned: previous?.slotsAssigned ?? 0,
    ready: readyPods,
    message,
  };
}

export function redisConditions(result: RedisLifecycleResult): ConditionInput[] {
  const c = result.conditions;
  return [
    c.clusterFormed
      ? { type: 'ClusterFormed', status: 'True', reason: 'Formed', message: 'every reachable Redis node belongs to one cluster that serves slots' }
      : { type: 'ClusterFormed', status: 'False', reason: c.reason || 'NotFormed', message: c.message || 'the Redis Cluster is not formed yet' },
    c.slotsAssigned
      ? { type: 'SlotsAssigned', status: 'True', reason: 'AllSlotsServed', message: 'all 16384 slots are served' }
      : { type: 'SlotsAssigned', status: 'False', reason: 'SlotsMissing', message: `${result.slotsAssigned} of 16384 slots are served` },
  ];
}

/**
 * `status.redis` and the conditions of the latest Redis observation (`undefined`: none yet, the
 * Redis controller has not looked). Unreachable → Degraded and not Ready (RedisUnreachable);
 * waiting → not Ready (RedisPending); stepped → ClusterFormed, SlotsAssigned, and Degraded / not
 * Ready / Progressing as the step's state says.
 */
export function redisStatusOfObservation(previous: RedisClusterStatus | undefined, observation: RedisObservation | undefined): { redis: RedisClusterStatus; conditions: ConditionInput[] } {
  if (!observation) {
    const message = 'waiting for the Redis lifecycle';
    return { redis: redisPendingStatus(previous, previous?.ready ?? 0, message), conditions: [{ type: 'Ready', status: 'False', reason: 'RedisPending', message }] };
  }
  const message = observationMessage(observation);
  switch (observation.kind) {
    case 'waiting':
      return { redis: redisPendingStatus(previous, observation.readyPods, message), conditions: [{ type: 'Ready', status: 'False', reason: 'RedisPending', message }] };
    case 'unreachable':
      return {
        redis: redisPendingStatus(previous, observation.readyPods, message),
        conditions: [
          { type: 'Degraded', status: 'True', reason: 'RedisUnreachable', message },
          { type: 'Ready', status: 'False', reason: 'RedisUnreachable', message },
        ],
      };
    case 'stepped': {
      const r = observation.result;
      const inputs = redisConditions(r);
      if (r.conditions.degraded) inputs.push({ type: 'Degraded', status: 'True', reason: r.conditions.reason || 'RedisDegraded', message });
      if (r.state !== 'Healthy') {
        inputs.push({ type: 'Ready', status: 'False', reason: `Redis${r.state}`, message });
        if (r.state === 'Bootstrapping' || r.state === 'Migrating') inputs.push({ type: 'Progressing', status: 'True', reason: `Redis${r.state}`, message });
      }
      return { redis: redisStatusFromStep(r, observation.readyPods), conditions: inputs };
    }
  }
}
