/**
 * A JSON Schema (draft-07) validator for the subset values.schema.json uses: type (one or a list),
 * properties, additionalProperties (false or a schema), required, enum, minimum, maximum,
 * minLength, maxLength, pattern, items. A keyword outside the subset is an error, so the chart's
 * schema cannot quietly use one these tests would not check. Helm itself validates values with a
 * full implementation; this one lets unit tests state what the schema accepts and rejects.
 */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: JsonSchema;
  description?: string;
  title?: string;
  $schema?: string;
};

const KNOWN = new Set(['type', 'properties', 'additionalProperties', 'required', 'enum', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'items', 'description', 'title', '$schema']);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(expected: string, actual: string): boolean {
  return expected === actual || (expected === 'number' && actual === 'integer');
}

/** Errors as `path: message`; empty when `value` is valid. */
export function validateJsonSchema(schema: JsonSchema, value: unknown, path = '$'): string[] {
  const unknown = Object.keys(schema).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) throw new Error(`${path}: schema keywords ${unknown.join(', ')} are not supported by this validator`);
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(t, actual))) return [`${path}: expected ${types.join(' or ')}, got ${actual}`];
  }
  const errors: string[] = [];
  if (schema.enum && !schema.enum.some((e) => e === value)) errors.push(`${path}: must be one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: below the minimum ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: above the maximum ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${path}: does not match ${schema.pattern}`);
  }
  if (actual === 'array' && schema.items) {
    (value as unknown[]).forEach((item, i) => errors.push(...validateJsonSchema(schema.items as JsonSchema, item, `${path}[${i}]`)));
  }
  if (actual === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in obj)) errors.push(`${path}: ${key} is required`);
    for (const [key, v] of Object.entries(obj)) {
      const child = schema.properties?.[key];
      if (child) errors.push(...validateJsonSchema(child, v, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unknown key ${key}`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...validateJsonSchema(schema.additionalProperties, v, `${path}.${key}`));
    }
  }
  return errors;
}
