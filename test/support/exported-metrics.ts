/**
 * The metric families each kind of imgroup process registers, built with the factories its
 * main.ts calls (runtime/gate/main.ts + gate-node.ts, runtime/logic/main.ts + logic-node.ts,
 * operator/main.ts) on fresh registries, without starting anything: name, type, label names and
 * the label values a family starts with (closed label sets are set to 0 at start). Real processes'
 * /metrics are compared with the same names in test/integration/observability/.
 */
import { Registry } from 'prom-client';
import { createControllerMetrics } from '../../operator/controller/controller-metrics.js';
import { createRedisLifecycleMetrics } from '../../operator/redis/redis-lifecycle-metrics.js';
import { createGateMetrics } from '../../runtime/gate/gate-metrics.js';
import { createLogicMetrics } from '../../runtime/logic/logic-metrics.js';
import { collectProcessMetrics } from '../../runtime/ops/process-metrics.js';
import { createRedisMetrics } from '../../runtime/redis/redis-metrics.js';
import type { Job } from './alert-rules.js';
import { type MetricFamily, parseExposition } from './exposition.js';

export interface ExportedFamily extends MetricFamily {
  /** Label names the family is declared with (its samples may not show them all yet). */
  labelNames: string[];
}

const REGISTRIES: Readonly<Record<Job, () => Registry>> = {
  'imgroup-operator': () => {
    const r = new Registry();
    collectProcessMetrics(r);
    createControllerMetrics(r);
    createRedisLifecycleMetrics(r);
    return r;
  },
  'imgroup-gate': () => {
    const r = new Registry();
    collectProcessMetrics(r);
    createRedisMetrics(r);
    createGateMetrics(r);
    return r;
  },
  'imgroup-logic': () => {
    const r = new Registry();
    collectProcessMetrics(r);
    createRedisMetrics(r);
    createLogicMetrics(r);
    return r;
  },
};

/** The families one kind of process exports, by name. */
export async function exportedFamilies(job: Job): Promise<Map<string, ExportedFamily>> {
  const registry = REGISTRIES[job]();
  const families = parseExposition(await registry.metrics());
  const out = new Map<string, ExportedFamily>();
  for (const metric of registry.getMetricsAsArray()) {
    const family = families.get(metric.name);
    if (!family) continue;
    const labelNames = [...((metric as unknown as { labelNames?: readonly string[] }).labelNames ?? [])];
    out.set(metric.name, { ...family, labelNames });
  }
  return out;
}
