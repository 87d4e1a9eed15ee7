/**
 * A small builder for the OpenAPI v3 schema of a CustomResourceDefinition that also carries the
 * TypeScript type of every node. One definition (spec-schema.ts, status-schema.ts) therefore
 * yields: the CRD YAML (crd.ts), the defaulting (defaults.ts), the validation (validation.ts: the
 * structural checks plus each CEL rule re-stated in TypeScript next to its CEL text), and — checked
 * by the compiler in schema-agreement.ts — the interfaces of v1alpha1.ts.
 *
 * A node's type parameter `T` is the type of the value after defaulting; `D` says whether the node
 * has a default (an object property with a default is always present after defaulting).
 */

/** OpenAPI v3 as the API server reads it (the wire format, with `x-kubernetes-*` keys). */
export interface JsonSchemaProps {
  type?: 'string' | 'integer' | 'boolean' | 'object' | 'array';
  description?: string;
  default?: unknown;
  enum?: readonly string[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  maxProperties?: number;
  properties?: Record<string, JsonSchemaProps>;
  required?: readonly string[];
  items?: JsonSchemaProps;
  additionalProperties?: JsonSchemaProps;
  anyOf?: readonly JsonSchemaProps[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: readonly string[];
  'x-kubernetes-validations'?: readonly ValidationRule[];
}

/** The reasons a CEL rule may report (apiextensions.k8s.io/v1 ValidationRule.reason). */
export type CelReason = 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';

/** A CEL rule as it appears in the CRD. */
export interface ValidationRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: CelReason;
}

/**
 * A CEL rule (`x-kubernetes-validations`) together with the same rule in TypeScript. `check`
 * returns true when the value is valid; it gets `oldSelf` only for transition rules (a rule whose
 * CEL text uses `oldSelf`, evaluated by the API server only on updates).
 */
export interface CelRule<T> extends ValidationRule {
  check(self: T, oldSelf: T | undefined): boolean;
}

export type SchemaKind = 'string' | 'integer' | 'boolean' | 'int-or-string' | 'object' | 'map' | 'array';

/** The untyped view of a schema node that the defaulting, the validation and crd.ts walk. */
export interface SchemaNode {
  readonly kind: SchemaKind;
  readonly description: string;
  readonly default?: unknown;
  readonly enum?: readonly string[];
  readonly format?: string;
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxItems?: number;
  readonly maxProperties?: number;
  /** `object`: its properties; `required` lists those that must be given (defaults do not count). */
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly required?: readonly string[];
  /** `map`: the schema of every value (`additionalProperties`). */
  readonly values?: SchemaNode;
  /** `array`: the schema of every item. */
  readonly items?: SchemaNode;
  readonly listType?: 'atomic' | 'set' | 'map';
  readonly listMapKeys?: readonly string[];
  readonly rules: readonly CelRule<never>[];
}

declare const valueType: unique symbol;
declare const defaulted: unique symbol;

/** A schema node whose value has type `T` after defaulting; `D` = it has a default. */
export interface Schema<T, D extends boolean = boolean> extends SchemaNode {
  readonly [valueType]?: T;
  readonly [defaulted]?: D;
}

/** The type of a schema node's value after defaulting. */
export type Out<S> = S extends Schema<infer T, boolean> ? T : never;

type Properties = Record<string, Schema<unknown>>;
type Present<P extends Properties, R extends string> = {
  [K in keyof P]: K extends R ? K : P[K] extends Schema<unknown, true> ? K : never;
}[keyof P];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** An object's type after defaulting: required and defaulted properties are present, the rest optional. */
export type ObjectOut<P extends Properties, R extends string> = Simplify<
  { [K in Present<P, R>]: Out<P[K]> } & { [K in Exclude<keyof P, Present<P, R>>]?: Out<P[K]> }
>;

interface Common {
  /** Shown by `kubectl explain`; say what the field does, its unit and its default. */
  description: string;
}

export interface StringOptions extends Common {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: string;
  rules?: readonly CelRule<string>[];
}

export interface IntegerOptions extends Common {
  minimum?: number;
  maximum?: number;
  rules?: readonly CelRule<number>[];
}

export interface ObjectOptions<P extends Properties, R extends string> extends Common {
  properties: P;
  required?: readonly R[];
  rules?: readonly CelRule<ObjectOut<P, R>>[];
}

export interface MapOptions extends Common {
  maxProperties?: number;
}

export interface ArrayOptions<T> extends Common {
  maxItems: number;
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: readonly string[];
  rules?: readonly CelRule<T[]>[];
}

function node<T, D extends boolean>(kind: SchemaKind, o: object): Schema<T, D> {
  const { rules, ...rest } = o as { rules?: readonly CelRule<never>[] };
  return { kind, ...rest, rules: rules ?? [] } as Schema<T, D>;
}

export function string(o: StringOptions & { default: string }): Schema<string, true>;
export function string(o: StringOptions): Schema<string, false>;
export function string(o: StringOptions & { default?: string }): Schema<string> {
  return node('string', o);
}

/** A string limited to `values`. */
export function enumOf<const V extends string>(values: readonly V[], o: Common & { default: NoInfer<V> }): Schema<V, true>;
export function enumOf<const V extends string>(values: readonly V[], o: Common): Schema<V, false>;
export function enumOf<const V extends string>(values: readonly V[], o: Common & { default?: V }): Schema<V> {
  return node('string', { ...o, enum: values });
}

export function integer(o: IntegerOptions & { default: number }): Schema<number, true>;
export function integer(o: IntegerOptions): Schema<number, false>;
export function integer(o: IntegerOptions & { default?: number }): Schema<number> {
  return node('integer', o);
}

export function boolean(o: Common & { default: boolean }): Schema<boolean, true>;
export function boolean(o: Common): Schema<boolean, false>;
export function boolean(o: Common & { default?: boolean }): Schema<boolean> {
  return node('boolean', o);
}

/** An integer or a string (`x-kubernetes-int-or-string`), e.g. a resource quantity. */
export function intOrString(o: Common & { pattern?: string; default: string | number }): Schema<string | number, true>;
export function intOrString(o: Common & { pattern?: string }): Schema<string | number, false>;
export function intOrString(o: Common & { pattern?: string; default?: string | number }): Schema<string | number> {
  return node('int-or-string', o);
}

export function object<P extends Properties, R extends keyof P & string = never>(
  o: ObjectOptions<P, R> & { default: Record<string, unknown> },
): Schema<ObjectOut<P, R>, true>;
export function object<P extends Properties, R extends keyof P & string = never>(o: ObjectOptions<P, R>): Schema<ObjectOut<P, R>, false>;
export function object<P extends Properties, R extends keyof P & string = never>(
  o: ObjectOptions<P, R> & { default?: Record<string, unknown> },
): Schema<ObjectOut<P, R>> {
  return node('object', o);
}

/** An object with arbitrary keys whose values all follow `values` (`additionalProperties`). */
export function mapOf<V extends Schema<unknown>>(values: V, o: MapOptions): Schema<Record<string, Out<V>>, false> {
  return node('map', { ...o, values });
}

export function arrayOf<I extends Schema<unknown>>(items: I, o: ArrayOptions<Out<I>>): Schema<Out<I>[], false> {
  return node('array', { ...o, items });
}

/** True when the CEL text of a rule refers to the previous object (a transition rule). */
export function isTransitionRule(rule: ValidationRule): boolean {
  return /\boldSelf\b/.test(rule.rule);
}
