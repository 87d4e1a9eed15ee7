/**
 * Metrics of the Redis lifecycle engine, on an injected Registry. The operator records every
 * step's result with `recordLifecycleStep`; label sets are closed (`kind` is one of the repair
 * kinds, `cluster` is `<namespace>/<name>` of an ImGroupCluster — few per operator).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { REPAIR_KINDS, type RedisLifecycleResult, type RepairKind } from './lifecycle-types.js';

export interface RedisLifecycleMetrics {
  slotsAssigned: Gauge<'cluster'>;
  migrations: Counter<string>;
  repairs: Counter<'kind'>;
}

export function createRedisLifecycleMetrics(registry: Registry): RedisLifecycleMetrics {
  const repairs = new Counter({
    name: 'imgroup_operator_redis_repairs_total',
    help: 'Repair actions that succeeded, by kind (meet, replicate, fix-open-slot, forget, failover, reset, assign-slots).',
    labelNames: ['kind'],
    registers: [registry],
  });
  for (const kind of REPAIR_KINDS) repairs.inc({ kind }, 0);
  return {
    slotsAssigned: new Gauge({ name: 'imgroup_operator_redis_slots_assigned', help: 'Hash slots served by a master, of 16384, per ImGroupCluster.', labelNames: ['cluster'], registers: [registry] }),
    migrations: new Counter({ name: 'imgroup_operator_redis_migrations_total', help: 'Hash slots moved between masters with their keys (rebalancing, scale-out, scale-in).', registers: [registry] }),
    repairs,
  };
}

/** Count one step's result. `cluster` is `<namespace>/<name>`. */
export function recordLifecycleStep(m: RedisLifecycleMetrics, cluster: string, result: RedisLifecycleResult): void {
  m.slotsAssigned.set({ cluster }, result.slotsAssigned);
  if (result.migration && result.migration.slotsMoved > 0) m.migrations.inc(result.migration.slotsMoved);
  for (const a of result.actions) {
    if (a.ok && (REPAIR_KINDS as readonly string[]).includes(a.kind)) m.repairs.inc({ kind: a.kind as RepairKind });
  }
}

/** Drop the gauge of an ImGroupCluster that was deleted. */
export function forgetLifecycleCluster(m: RedisLifecycleMetrics, cluster: string): void {
  m.slotsAssigned.remove({ cluster });
}
