/**
 * Validation of an ImGroupCluster by the operator itself, mirroring what the API server checks
 * with the CRD: the structural rules of the schema (types, required, enum, bounds, patterns,
 * lengths) and every CEL rule, through the TypeScript `check` written next to its CEL text.
 * The operator uses it on objects that bypassed the API server's validation (an older CRD, a
 * hand-edited etcd) to report a terminal error instead of creating broken objects.
 *
 * Every message starts with the path of the field, like the API server's.
 */
import { CLUSTER_NAME_RULES, type NamedObject } from './cluster-name.js';
import { applySchemaDefaults, isPlainObject } from './defaults.js';
import { type CelRule, isTransitionRule, type SchemaNode } from './schema-builder.js';
import { specSchema } from './spec-schema.js';
import type { ImGroupCluster, ImGroupClusterSpec } from './v1alpha1.js';

export interface FieldError {
  /** Path of the field, e.g. `spec.redis.masters`. */
  field: string;
  /** What is wrong and what to change; starts with the field's path. */
  message: string;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

function typeError(node: SchemaNode, value: unknown, path: string): string | null {
  switch (node.kind) {
    case 'string':
      return typeof value === 'string' ? null : `${path} must be a string (got ${describe(value)})`;
    case 'integer':
      return Number.isSafeInteger(value) ? null : `${path} must be an integer (got ${describe(value)})`;
    case 'boolean':
      return typeof value === 'boolean' ? null : `${path} must be true or false (got ${describe(value)})`;
    case 'int-or-string':
      return typeof value === 'string' || Number.isSafeInteger(value) ? null : `${path} must be an integer or a string (got ${describe(value)})`;
    case 'object':
    case 'map':
      return isPlainObject(value) ? null : `${path} must be an object (got ${describe(value)})`;
    case 'array':
      return Array.isArray(value) ? null : `${path} must be a list (got ${describe(value)})`;
  }
}

function constraintErrors(node: SchemaNode, value: unknown, path: string): string[] {
  const out: string[] = [];
  if (typeof value === 'string') {
    if (node.enum && !node.enum.includes(value)) out.push(`${path} must be one of ${node.enum.join(', ')} (got ${describe(value)})`);
    if (node.minLength !== undefined && value.length < node.minLength) out.push(`${path} must be at least ${node.minLength} characters long`);
    if (node.maxLength !== undefined && value.length > node.maxLength) out.push(`${path} must be at most ${node.maxLength} characters long`);
    if (node.pattern !== undefined && !new RegExp(node.pattern).test(value)) out.push(`${path} must match ${node.pattern} (got ${describe(value)})`);
  }
  if (typeof value === 'number') {
    if (node.minimum !== undefined && value < node.minimum) out.push(`${path} must be at least ${node.minimum} (got ${value})`);
    if (node.maximum !== undefined && value > node.maximum) out.push(`${path} must be at most ${node.maximum} (got ${value})`);
  }
  if (Array.isArray(value) && node.maxItems !== undefined && value.length > node.maxItems) out.push(`${path} must have at most ${node.maxItems} items`);
  if (node.kind === 'map' && isPlainObject(value) && node.maxProperties !== undefined && Object.keys(value).length > node.maxProperties) {
    out.push(`${path} must have at most ${node.maxProperties} entries`);
  }
  return out;
}

/** Run the CEL rules of a node whose subtree is structurally valid. */
function ruleErrors(rules: readonly CelRule<never>[], value: unknown, old: unknown, path: string): FieldError[] {
  const out: FieldError[] = [];
  for (const rule of rules as readonly CelRule<unknown>[]) {
    const transition = isTransitionRule(rule);
    if (transition && old === undefined) continue;
    let ok: boolean;
    try {
      ok = rule.check(value, transition ? old : undefined);
    } catch {
      ok = false;
    }
    if (!ok) out.push({ field: rule.fieldPath ? `${path}${rule.fieldPath}` : path, message: rule.message });
  }
  return out;
}

/**
 * Errors of `value` against `node` at `path` (a defaulted value: defaults are not applied here).
 * `old` is the previous value, for transition rules; undefined on create.
 */
export function validateAgainstSchema(node: SchemaNode, value: unknown, path: string, old?: unknown): FieldError[] {
  const wrongType = typeError(node, value, path);
  if (wrongType) return [{ field: path, message: wrongType }];
  const errors: FieldError[] = constraintErrors(node, value, path).map((message) => ({ field: path, message }));
  if (node.kind === 'object' && isPlainObject(value)) {
    for (const key of node.required ?? []) {
      if (value[key] === undefined || value[key] === null) errors.push({ field: `${path}.${key}`, message: `${path}.${key} is required` });
    }
    const oldObject = isPlainObject(old) ? old : undefined;
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const v = Object.hasOwn(value, key) ? value[key] : undefined;
      if (v === undefined || v === null) continue;
      const o = oldObject && Object.hasOwn(oldObject, key) ? oldObject[key] : undefined;
      errors.push(...validateAgainstSchema(child, v, `${path}.${key}`, o));
    }
  }
  if (node.kind === 'map' && isPlainObject(value) && node.values) {
    for (const [key, v] of Object.entries(value)) errors.push(...validateAgainstSchema(node.values, v, `${path}[${JSON.stringify(key)}]`));
  }
  if (node.kind === 'array' && Array.isArray(value) && node.items) {
    for (const [i, v] of value.entries()) errors.push(...validateAgainstSchema(node.items, v, `${path}[${i}]`));
  }
  if (errors.length > 0) return errors;
  return ruleErrors(node.rules, value, old, path);
}

/** Errors of a spec as given (defaults applied first, as the API server does). */
export function validateSpec(spec: unknown, oldSpec?: unknown): FieldError[] {
  const defaulted = applySchemaDefaults(specSchema, spec ?? {});
  const oldDefaulted = oldSpec === undefined ? undefined : applySchemaDefaults(specSchema, oldSpec);
  return validateAgainstSchema(specSchema, defaulted, 'spec', oldDefaulted);
}

/** An ImGroupCluster whose spec is defaulted and valid, and whose metadata has what the operator needs. */
export interface ValidImGroupCluster extends ImGroupCluster {
  metadata: ImGroupCluster['metadata'] & { name: string; namespace: string; uid: string };
  spec: ImGroupClusterSpec;
}

export type ResolveResult = { ok: true; cluster: ValidImGroupCluster } | { ok: false; errors: FieldError[] };

function metadataErrors(metadata: unknown): FieldError[] {
  if (!isPlainObject(metadata)) return [{ field: 'metadata', message: 'metadata must be an object' }];
  const errors: FieldError[] = [];
  for (const key of ['name', 'namespace', 'uid'] as const) {
    const v = metadata[key];
    if (typeof v !== 'string' || v.length === 0) errors.push({ field: `metadata.${key}`, message: `metadata.${key} must be a non-empty string` });
  }
  if (errors.length > 0) return errors;
  return ruleErrors(CLUSTER_NAME_RULES, { metadata } as NamedObject, undefined, 'metadata.name');
}

/**
 * Check an ImGroupCluster read from the API (untrusted) and return it with its spec defaulted, or
 * every error found. `old` is the previous object, for the transition rules. Never throws.
 */
export function resolveImGroupCluster(obj: unknown, old?: unknown): ResolveResult {
  if (!isPlainObject(obj)) return { ok: false, errors: [{ field: '', message: 'an ImGroupCluster must be an object' }] };
  const oldSpec = isPlainObject(old) ? old.spec : undefined;
  const errors = [...metadataErrors(obj.metadata), ...validateSpec(obj.spec, oldSpec)];
  if (errors.length > 0) return { ok: false, errors };
  const spec = applySchemaDefaults(specSchema, obj.spec ?? {}) as ImGroupClusterSpec;
  return { ok: true, cluster: { ...(obj as unknown as ImGroupCluster), spec } as ValidImGroupCluster };
}

/** One line for a status condition or an Event: `field: message; …`. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => e.message).join('; ');
}
