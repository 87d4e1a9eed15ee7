/**
 * The membership document inside a ConfigMap object as the API server sends it (list item or
 * watch event): key `membership.json` of `data`. The object is untrusted input, checked field by
 * field; nothing here throws.
 */
import { isRecord } from '../kube/object-meta.js';
import { MEMBERSHIP_LIMITS, type MembershipParseResult, parseMembership } from '../protocol/membership.js';

/** The key the operator writes the document under (operator/desired/runtime-env.ts MEMBERSHIP_KEY). */
export const MEMBERSHIP_CONFIGMAP_KEY = 'membership.json';

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
