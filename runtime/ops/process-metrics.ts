/**
 * The default Node.js process metrics (CPU, memory, file descriptors, event-loop lag, GC, active
 * handles …) that every imgroup process exposes on its `/metrics`, registered on the process's
 * injected Registry.
 */
import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's defaults include three gauges named `…_total`, which breaks Prometheus naming
 * (`promtool check metrics`: non-counter metrics should not have "_total" suffix). Their
 * siblings without the suffix (`nodejs_active_handles{type}` …) carry the same numbers per
 * type; `sum()` over them gives the dropped totals.
 */
export const DROPPED_DEFAULT_METRICS: readonly string[] = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
}
