/**
 * Reading the Prometheus text exposition format (what every imgroup `/metrics` serves, see
 * ops-server.ts): `name{label="value",…} value [timestamp]` sample lines, grouped into metric
 * families by their `# HELP` / `# TYPE` comments. The scraped text is untrusted input.
 *
 * Two readings of one grammar: `parsePrometheusText` (the benchmark's scrape) skips what does not
 * parse, so one odd line of a foreign exporter costs one sample; `parseExposition` (the tests'
 * view of what a process exports) throws on it, so a malformed exposition fails the test.
 */

export interface Sample {
  /** The sample's own name: the family name, or `<family>_bucket|_sum|_count` for histograms. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  /** From `# TYPE`; `untyped` when the family has none. */
  type: string;
  /** From `# HELP`, as written (escapes not undone); empty when the family has none. */
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const META = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/;
const TIMESTAMP = /^-?\d+$/;

/** Every sample of the text, in order. Comments, blank lines and lines that do not parse are skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const sample = parseSampleLine(line);
    if (sample) out.push(sample);
  }
  return out;
}

/** Families by name, in exposition order. Throws on a sample line it cannot read. */
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
    const meta = META.exec(line);
    if (meta) {
      current = family(meta[2] as string);
      if (meta[1] === 'HELP') current.help = meta[3] as string;
      else current.type = meta[3] as string;
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = parseSampleLine(line.trim());
    if (!sample) throw new Error(`unreadable exposition line: ${line}`);
    const owner = current && (sample.name === current.name || sample.name.startsWith(`${current.name}_`)) ? current : family(sample.name);
    owner.samples.push(sample);
  }
  return families;
}

/** One sample line (already trimmed); null when it does not parse. */
export function parseSampleLine(line: string): Sample | null {
  const name = NAME.exec(line)?.[0];
  if (!name) return null;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    const parsed = parseLabels(rest);
    if (!parsed) return null;
    Object.assign(labels, parsed.labels);
    rest = rest.slice(parsed.length);
  }
  if (!/^\s/.test(rest)) return null;
  const [valueText, timestamp, ...extra] = rest.trim().split(/\s+/);
  if (valueText === undefined || valueText.length === 0) return null;
  if (extra.length > 0 || (timestamp !== undefined && !TIMESTAMP.test(timestamp))) return null;
  const value = parseValue(valueText);
  return value === null ? null : { name, labels, value };
}

/** A Go float, as Prometheus reads it: `Inf`/`NaN` in any case (prom-client writes `Nan`). */
function parseValue(text: string): number | null {
  const special = /^([+-]?)(inf(?:inity)?|nan)$/i.exec(text);
  if (special) return (special[2] as string).toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  const n = Number(text);
  return Number.isNaN(n) ? null : n;
}

/** `{a="x",b="y\"z"}` → labels and the number of characters consumed, or null. */
function parseLabels(text: string): { labels: Record<string, string>; length: number } | null {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (text[i] === ' ' || text[i] === ',') i++;
    if (text[i] === '}') return { labels, length: i + 1 };
    const key = NAME.exec(text.slice(i))?.[0];
    if (!key || text[i + key.length] !== '=' || text[i + key.length + 1] !== '"') return null;
    i += key.length + 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) return null;
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[key] = value;
    i++;
  }
}

/** Sum of the samples of `name` whose labels include every pair of `match`; null when there is no such sample. */
export function sumSamples(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number | null {
  let sum: number | null = null;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (!Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    sum = (sum ?? 0) + s.value;
  }
  return sum;
}
