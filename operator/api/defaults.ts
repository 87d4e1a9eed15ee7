/**
 * Defaulting as the API server does it for a structural schema: a missing (or null) field with a
 * default gets a copy of it, then defaulting goes on inside it, so `default: {}` on an object lets
 * its own fields' defaults apply. Fields the schema does not know are pruned, as the API server
 * prunes them. The defaults are the schema's (spec-schema.ts), so they cannot drift from the CRD.
 */
import type { SchemaNode } from './schema-builder.js';
import { specSchema } from './spec-schema.js';
import type { ImGroupClusterSpec, ImGroupClusterSpecInput } from './v1alpha1.js';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `value` with the defaults of `node` applied and unknown fields pruned. Never mutates `value`;
 * a value of the wrong type is returned as it is (validation reports it).
 */
export function applySchemaDefaults(node: SchemaNode, value: unknown): unknown {
  let v: unknown = value === null ? undefined : value;
  if (v === undefined) {
    if (node.default === undefined) return undefined;
    v = structuredClone(node.default);
  }
  if (node.kind === 'object' && isPlainObject(v)) {
    const entries: [string, unknown][] = [];
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const c = applySchemaDefaults(child, Object.hasOwn(v, key) ? v[key] : undefined);
      if (c !== undefined) entries.push([key, c]);
    }
    return Object.fromEntries(entries);
  }
  if (node.kind === 'map' && isPlainObject(v) && node.values) {
    const values = node.values;
    return Object.fromEntries(Object.entries(v).map(([key, x]) => [key, applySchemaDefaults(values, x)]));
  }
  if (node.kind === 'array' && Array.isArray(v) && node.items) {
    const items = node.items;
    return v.map((x) => applySchemaDefaults(items, x));
  }
  return v;
}

/**
 * The fully defaulted spec. For a spec of the right shape (e.g. one the API server has validated);
 * for untrusted input use `resolveImGroupCluster` (validation.ts), which also validates.
 * Idempotent: defaulting a defaulted spec changes nothing.
 */
export function defaultSpec(spec: ImGroupClusterSpecInput | undefined): ImGroupClusterSpec {
  return applySchemaDefaults(specSchema, spec ?? {}) as ImGroupClusterSpec;
}
