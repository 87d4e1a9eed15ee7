/**
 * A lifecycle step's result in the ImGroupCluster's status shape (`status.redis`), for the
 * reconciler. Conditions are left to the reconciler's condition helpers (they keep
 * lastTransitionTime); `result.conditions` carries their status, reason and message. Pure.
 */
import type { RedisClusterStatus } from '../api/v1alpha1.js';
import type { RedisLifecycleResult } from './lifecycle-types.js';

/** Status messages are cut here (the API server stores every status write). */
const MAX_MESSAGE_CHARS = 1024;

export function redisStatusOf(result: RedisLifecycleResult): RedisClusterStatus {
  const status: RedisClusterStatus = {
    state: result.state,
    slotsAssigned: result.slotsAssigned,
    shards: result.shards.map((s) => ({ master: s.master, replicas: [...s.replicas], slots: s.slots })),
    message: result.conditions.message.slice(0, MAX_MESSAGE_CHARS),
  };
  if (result.migration) {
    // slotsPlanned: slots that still had to move when this step began; slotsMoved: moved by it.
    status.migration = {
      source: result.migration.from,
      target: result.migration.to,
      slotsPlanned: result.migration.slotsMoved + result.migration.slotsRemaining,
      slotsMoved: result.migration.slotsMoved,
    };
  }
  return status;
}
