/**
 * The Prometheus text exposition format as tests read it: metric families (from `# HELP` and
 * `# TYPE`) with their samples, read by the runtime's parser (runtime/ops/prom-text.ts, strictly:
 * an unreadable line fails the test), so tests can ask which names a process exports, with which
 * labels.
 */
import { sumSamples, type MetricFamily } from '../../runtime/ops/prom-text.js';

export { parseExposition, type MetricFamily, type Sample } from '../../runtime/ops/prom-text.js';

/** Label names used by a family's samples, without the histogram's own `le`. */
export function labelNamesOf(family: MetricFamily): Set<string> {
  const names = new Set<string>();
  for (const s of family.samples) for (const k of Object.keys(s.labels)) if (k !== 'le' && k !== 'quantile') names.add(k);
  return names;
}

/** Every value a label takes across a family's samples. */
export function labelValues(family: MetricFamily, label: string): Set<string> {
  const values = new Set<string>();
  for (const s of family.samples) {
    const v = s.labels[label];
    if (v !== undefined) values.add(v);
  }
  return values;
}

/** Sum of a family's samples named exactly `name` (default: the family name) matching `labels`. */
export function sampleSum(family: MetricFamily | undefined, labels: Record<string, string> = {}, name = family?.name): number {
  if (!family || name === undefined) return 0;
  return sumSamples(family.samples, name, labels) ?? 0;
}

/**
 * The family a series name in a query belongs to: the name itself, or for `_bucket`, `_sum`,
 * `_count` the histogram (or summary) it is part of. Null when no exported family has it.
 */
export function familyOfSeries(series: string, families: ReadonlyMap<string, MetricFamily>): MetricFamily | null {
  const direct = families.get(series);
  if (direct) return direct;
  const m = /^(.*)_(bucket|sum|count)$/.exec(series);
  if (!m) return null;
  const base = families.get(m[1] as string);
  if (!base) return null;
  if (base.type === 'histogram') return base;
  if (base.type === 'summary' && m[2] !== 'bucket') return base;
  return null;
}
