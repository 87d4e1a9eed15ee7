/**
 * The membership document inside a ConfigMap object as the API server sends it (list item or
 * watch event): key `membership.json` of `data`. The object is untrusted input, checked field by
 * field; nothing here throws.
 */
import { MEMBERSHIP_LIMITS, type MembershipParseResult, parseMembership } from '../protocol/membership.js';

/** The key the operator writes the document under (operator/desired/runtime-env.ts MEMBERSHIP_KEY). */
export const MEMBERSHIP_CONFIGMAP_KEY = 'membership.json';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** metadata.name of an untrusted object, or undefined. */
export function objectName(obj: unknown): string | undefined {
  if (!isRecord(obj) || !isRecord(obj.metadata)) return undefined;
  const name = obj.metadata.name;
  return typeof name === 'string' ? name : undefined;
}

/** metadata.resourceVersion of an untrusted object (a non-empty string of bounded length), or undefined. */
export function objectResourceVersion(obj: unknown): string | undefined {
  if (!isRecord(obj) || !isRecord(obj.metadata)) return undefined;
  const rv = obj.metadata.resourceVersion;
  return typeof rv === 'string' && rv.length > 0 && rv.length <= 64 ? rv : undefined;
}

/** Extract and validate the membership document of a ConfigMap object. */
export function membershipFromConfigMap(obj: unknown, key: string = MEMBERSHIP_CONFIGMAP_KEY): MembershipParseResult {
  if (!isRecord(obj)) return { ok: false, error: 'the ConfigMap is not a JSON object' };
  const data = obj.data;
  if (data !== undefined && data !== null && !isRecord(data)) return { ok: false, error: 'the ConfigMap\'s "data" is not an object' };
  const value = isRecord(data) && Object.hasOwn(data, key) ? data[key] : undefined;
  if (value === undefined) {
    const binary = obj.binaryData;
    if (isRecord(binary) && Object.hasOwn(binary, key)) return { ok: false, error: `key ${JSON.stringify(key)} is in binaryData; the document must be text under data` };
    return { ok: false, error: `the ConfigMap has no key ${JSON.stringify(key)}` };
  }
  if (typeof value !== 'string') return { ok: false, error: `key ${JSON.stringify(key)} is not a string` };
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MEMBERSHIP_LIMITS.maxDocumentBytes) {
    return { ok: false, error: `key ${JSON.stringify(key)} holds ${bytes} bytes; at most ${MEMBERSHIP_LIMITS.maxDocumentBytes} are accepted` };
  }
  const parsed = parseMembership(value);
  return parsed.ok ? parsed : { ok: false, error: `key ${JSON.stringify(key)}: ${parsed.error}` };
}
