/**
 * The `metadata` fields of an object as the API server sends it (a list item or a watch event),
 * read from untrusted JSON: each is checked before use and nothing here throws.
 */

/** A JSON object (not null, not an array): what an API object and its `metadata` must be. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function metadataOf(obj: unknown): Record<string, unknown> | undefined {
  return isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : undefined;
}

/** metadata.name of an untrusted object, or undefined. */
export function objectName(obj: unknown): string | undefined {
  const name = metadataOf(obj)?.name;
  return typeof name === 'string' ? name : undefined;
}

/** metadata.namespace of an untrusted object ('' for a cluster-scoped one). */
export function objectNamespace(obj: unknown): string {
  const namespace = metadataOf(obj)?.namespace;
  return typeof namespace === 'string' ? namespace : '';
}

/** Longest resourceVersion accepted: an opaque string, in practice an etcd revision of a few digits. */
export const MAX_RESOURCE_VERSION_LENGTH = 64;

/** A usable resourceVersion: a non-empty string of bounded length. */
export function isResourceVersion(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_RESOURCE_VERSION_LENGTH;
}

/** metadata.resourceVersion of an untrusted object when usable, or undefined. */
export function objectResourceVersion(obj: unknown): string | undefined {
  const rv = metadataOf(obj)?.resourceVersion;
  return isResourceVersion(rv) ? rv : undefined;
}
