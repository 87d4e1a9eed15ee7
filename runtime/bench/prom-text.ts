/**
 * Reading the Prometheus text exposition format (what every imgroup `/metrics` serves) just far
 * enough to sum samples: `name{label="value",…} value [timestamp]`. Comments, blank lines and
 * lines that do not parse are skipped; the scraped text is untrusted input.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) out.push(sample);
  }
  return out;
}

function parseLine(line: string): Sample | null {
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
  const valueText = rest.trim().split(/\s+/)[0];
  if (valueText === undefined || valueText.length === 0) return null;
  const value = parseValue(valueText);
  return value === null ? null : { name, labels, value };
}

function parseValue(text: string): number | null {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
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
