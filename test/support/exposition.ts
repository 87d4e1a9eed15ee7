/**
 * The Prometheus text exposition format as tests read it: metric families (from `# HELP` and
 * `# TYPE`) with their samples, so tests can ask which names a process exports, with which labels.
 */

export interface Sample {
  /** The sample's own name: the family name, or `<family>_bucket|_sum|_count` for histograms. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL_PAIR = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;

/** Families by name, in exposition order. Throws on a line it cannot read (the test should fail). */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const family = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
    return f;
  };
  let current: MetricFamily | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
    if (meta) {
      current = family(meta[2] as string);
      if (meta[1] === 'HELP') current.help = meta[3] as string;
      else current.type = meta[3] as string;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m) throw new Error(`unreadable exposition line: ${line}`);
    const name = m[1] as string;
    const owner = current && (name === current.name || name.startsWith(`${current.name}_`)) ? current : family(name);
    owner.samples.push({ name, labels: parseLabels(m[2] ?? '', line), value: Number(m[3]) });
  }
  return families;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL_PAIR.lastIndex = 0;
  while (LABEL_PAIR.lastIndex < text.length) {
    const start = LABEL_PAIR.lastIndex;
    const m = LABEL_PAIR.exec(text);
    if (!m) throw new Error(`unreadable labels at ${start} in: ${line}`);
    labels[m[1] as string] = (m[2] as string).replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

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
  if (!family) return 0;
  let sum = 0;
  for (const s of family.samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
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
