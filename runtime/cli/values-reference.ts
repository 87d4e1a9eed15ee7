/**
 * The Helm chart's values table: one row per key of charts/imgroup/values.yaml documented with a
 * helm-docs `# --` comment (the comment lines directly above the key), with its type from
 * values.schema.json and its default from values.yaml. Keys under a documented key are part of
 * its default. `make docs` writes the table into README.md between the values-table markers, and
 * a test fails when the README is out of date or a key of values.yaml is undocumented.
 */
import { loadYaml } from '@kubernetes/client-node';

export const VALUES_START = '<!-- values-table:start -->';
export const VALUES_END = '<!-- values-table:end -->';

/** The part of a JSON Schema the table reads. */
export interface ValuesSchema {
  type?: string | string[];
  properties?: Record<string, ValuesSchema>;
}

export interface DocumentedValue {
  /** Dotted path, e.g. `image.tag`. */
  key: string;
  description: string;
}

const KEY_LINE = /^( *)([A-Za-z0-9_]+):(.*)$/;
const DOC_LINE = /^ *# -- ?(.*)$/;
const CONTINUATION_LINE = /^ *# ?(.*)$/;

/**
 * The documented keys of a values file, in file order. Throws, naming the key, for a key that
 * has a value of its own (not only documented children) and no `# --` comment.
 */
export function documentedValues(valuesYaml: string): DocumentedValue[] {
  const out: DocumentedValue[] = [];
  /** Open keys: indentation, name, and whether it (or an ancestor) is documented. */
  const stack: { indent: number; key: string; documented: boolean }[] = [];
  let pending: string[] | null = null;
  for (const line of valuesYaml.split('\n')) {
    if (line.trim() === '') {
      pending = null;
      continue;
    }
    const doc = DOC_LINE.exec(line);
    if (doc) {
      pending = [doc[1] ?? ''];
      continue;
    }
    const continuation = CONTINUATION_LINE.exec(line);
    if (continuation) {
      if (pending) pending.push(continuation[1] ?? '');
      continue;
    }
    const m = KEY_LINE.exec(line);
    if (!m) continue; // a list item or a continued value: part of its key's default
    const indent = (m[1] ?? '').length;
    while (stack.length > 0 && (stack.at(-1)?.indent ?? 0) >= indent) stack.pop();
    const parentDocumented = stack.at(-1)?.documented ?? false;
    const key = [...stack.map((s) => s.key), m[2] ?? ''].join('.');
    const hasOwnValue = (m[3] ?? '').trim() !== '';
    if (pending && !parentDocumented) out.push({ key, description: pending.join(' ').replace(/\s+/g, ' ').trim() });
    else if (!parentDocumented && hasOwnValue) throw new Error(`values.yaml: ${key} has no \`# --\` comment`);
    stack.push({ indent, key: m[2] ?? '', documented: parentDocumented || pending !== null });
    pending = null;
  }
  return out;
}

function at(root: unknown, key: string): unknown {
  let v = root;
  for (const part of key.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

function schemaType(schema: ValuesSchema, key: string): string {
  let node: ValuesSchema | undefined = schema;
  for (const part of key.split('.')) node = node?.properties?.[part];
  if (!node?.type) throw new Error(`values.schema.json has no type for ${key}`);
  return Array.isArray(node.type) ? node.type.join(' or ') : node.type;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The Markdown table of the documented values. */
export function valuesReference(valuesYaml: string, schema: ValuesSchema): string {
  const values = loadYaml<Record<string, unknown>>(valuesYaml);
  const rows = documentedValues(valuesYaml).map(({ key, description }) => {
    const value = at(values, key);
    if (value === undefined) throw new Error(`values.yaml: ${key} is documented but has no value`);
    return `| \`${key}\` | ${schemaType(schema, key)} | \`${cell(JSON.stringify(value))}\` | ${cell(description)} |`;
  });
  return ['| Key | Type | Default | Description |', '|---|---|---|---|', ...rows, ''].join('\n');
}
