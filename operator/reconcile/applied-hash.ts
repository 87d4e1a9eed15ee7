/**
 * How a reconcile that finds nothing to change writes nothing: the desired object is hashed
 * (canonical JSON, sha256) and the hash applied with it as an annotation. Before applying, the
 * reconciler compares the hash on the live object with the desired one; equal hashes mean our
 * applied fields are already there, so no request is sent and no resourceVersion moves.
 *
 * Chosen over a dry-run apply + comparison because it costs no request per object when the
 * objects come from an informer cache, and because a dry-run response differs from the live
 * object in server-populated fields (managedFields timestamps), which makes "equal" fragile.
 * The price: a hand edit of a field we own that leaves the annotation alone is not reverted until
 * the desired object changes (or the annotation is removed). Any change of the spec, the
 * membership or the operator's own desired functions changes the hash and re-applies.
 */
import { createHash } from 'node:crypto';

export const APPLIED_HASH_ANNOTATION = 'imgroup.dev/applied-hash';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
}

/** sha256 (hex, first 32 characters) of the object's canonical JSON. */
export function hashObject(obj: unknown): string {
  return createHash('sha256').update(JSON.stringify(canonical(obj))).digest('hex').slice(0, 32);
}

interface Annotated {
  metadata?: { annotations?: Record<string, string> };
}

/** A copy of `obj` carrying the hash of `obj` (without any previous hash) as annotation. */
export function withAppliedHash<T extends Annotated>(obj: T): { object: T; hash: string } {
  const hash = hashObject(obj);
  const metadata = { ...(obj.metadata ?? {}), annotations: { ...(obj.metadata?.annotations ?? {}), [APPLIED_HASH_ANNOTATION]: hash } };
  return { object: { ...obj, metadata }, hash };
}

export function appliedHashOf(live: Annotated | undefined): string | undefined {
  return live?.metadata?.annotations?.[APPLIED_HASH_ANNOTATION];
}
