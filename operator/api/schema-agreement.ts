/**
 * Compile-time proof that the interfaces of v1alpha1.ts and the schemas (spec-schema.ts,
 * status-schema.ts) describe the same fields: same names, same types, and a field is optional in
 * the interface exactly when the schema gives it neither a default nor `required`. A difference
 * makes `tsc` fail on the line below that names the type. Nothing here exists at run time.
 */
import type { Out } from './schema-builder.js';
import type { specSchema } from './spec-schema.js';
import type { conditionSchema, statusSchema } from './status-schema.js';
import type { Condition, ImGroupClusterSpec, ImGroupClusterStatus } from './v1alpha1.js';

/** Deep, exact equality of two types (identical members and optionality, not just assignable). */
type Equals<A, B> = (<T>() => T extends Deep<A> ? 1 : 2) extends <T>() => T extends Deep<B> ? 1 : 2 ? true : false;
type Deep<T> = T extends readonly (infer I)[] ? Deep<I>[] : T extends object ? { [K in keyof T]: Deep<T[K]> } : T;

type Expect<T extends true> = T;

export type SpecAgrees = Expect<Equals<ImGroupClusterSpec, Out<typeof specSchema>>>;
export type StatusAgrees = Expect<Equals<ImGroupClusterStatus, Out<typeof statusSchema>>>;
export type ConditionAgrees = Expect<Equals<Condition, Out<typeof conditionSchema>>>;

// Controls: the check is not vacuous. A spec with one defaulted field made optional, or with an
// extra optional field, differs from the schema's (tsc fails if either line stops being an error).
// @ts-expect-error -- `paused` has a default, so it is never optional after defaulting
export type ControlOptionalDefaulted = Expect<Equals<Omit<ImGroupClusterSpec, 'paused'> & { paused?: boolean }, Out<typeof specSchema>>>;
// @ts-expect-error -- the schema has no `extra` field
export type ControlExtraField = Expect<Equals<ImGroupClusterSpec & { extra?: string }, Out<typeof specSchema>>>;
