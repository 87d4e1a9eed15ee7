/**
 * The logic membership document: which logic nodes exist and where their internal endpoint is.
 * The operator writes it into the ConfigMap `N-membership` (key `membership.json`); in local
 * mode it is a file. Gates read it and build their consistent-hash ring from it.
 *
 *   {"version":"<string>","members":[{"id":"logic-0","url":"ws://127.0.0.1:8180"}]}
 */
import { createHash } from 'node:crypto';

export interface MembershipMember {
  /** Stable node id (the pod name on Kubernetes). Keys hash onto ids, so ids must not be reused for other nodes. */
  id: string;
  /** Internal WebSocket endpoint of the logic node: ws:// or wss://. */
  url: string;
}

export interface MembershipDocument {
  /** Changes exactly when the member list changes. Opaque to readers. */
  version: string;
  members: MembershipMember[];
}

/** Upper bounds for an untrusted document. */
export const MEMBERSHIP_LIMITS = {
  maxMembers: 1024,
  maxVersionLength: 256,
  maxIdLength: 253,
  maxUrlLength: 2048,
  maxDocumentBytes: 1024 * 1024,
} as const;

const MEMBER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export type MembershipParseResult = { ok: true; doc: MembershipDocument } | { ok: false; error: string };

/** Parse and validate a membership document from untrusted text. Never throws. */
export function parseMembership(text: string): MembershipParseResult {
  if (Buffer.byteLength(text, 'utf8') > MEMBERSHIP_LIMITS.maxDocumentBytes) {
    return { ok: false, error: `membership document is larger than ${MEMBERSHIP_LIMITS.maxDocumentBytes} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `membership document is not valid JSON: ${(err as Error).message}` };
  }
  return validateMembership(value);
}

/** Validate an already-parsed value as a membership document. Never throws. */
export function validateMembership(value: unknown): MembershipParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'membership document must be a JSON object' };
  }
  const v = value as Record<string, unknown>;
  if (typeof v.version !== 'string' || v.version.length === 0 || v.version.length > MEMBERSHIP_LIMITS.maxVersionLength) {
    return { ok: false, error: `"version" must be a string of 1-${MEMBERSHIP_LIMITS.maxVersionLength} characters` };
  }
  if (!Array.isArray(v.members)) return { ok: false, error: '"members" must be an array' };
  if (v.members.length > MEMBERSHIP_LIMITS.maxMembers) {
    return { ok: false, error: `"members" has ${v.members.length} entries; at most ${MEMBERSHIP_LIMITS.maxMembers} are allowed` };
  }
  const seen = new Set<string>();
  const members: MembershipMember[] = [];
  for (const [i, m] of v.members.entries()) {
    if (typeof m !== 'object' || m === null) return { ok: false, error: `members[${i}] must be an object` };
    const { id, url } = m as Record<string, unknown>;
    if (typeof id !== 'string' || id.length > MEMBERSHIP_LIMITS.maxIdLength || !MEMBER_ID.test(id)) {
      return { ok: false, error: `members[${i}].id must be 1-${MEMBERSHIP_LIMITS.maxIdLength} characters of A-Z a-z 0-9 . _ - starting with a letter or digit` };
    }
    if (seen.has(id)) return { ok: false, error: `members[${i}].id ${JSON.stringify(id)} appears twice` };
    seen.add(id);
    if (typeof url !== 'string' || url.length > MEMBERSHIP_LIMITS.maxUrlLength || !isWsUrl(url)) {
      return { ok: false, error: `members[${i}].url must be a ws:// or wss:// URL` };
    }
    members.push({ id, url });
  }
  return { ok: true, doc: { version: v.version, members } };
}

function isWsUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === 'ws:' || u.protocol === 'wss:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

/** Members sorted by id: the canonical order writers use. */
export function sortMembers(members: readonly MembershipMember[]): MembershipMember[] {
  return [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Build a document whose version is derived from the member list alone, so the version changes
 * exactly when the list changes (and two writers of the same list agree on it).
 */
export function buildMembership(members: readonly MembershipMember[]): MembershipDocument {
  const sorted = sortMembers(members);
  const digest = createHash('sha256')
    .update(JSON.stringify(sorted.map((m) => [m.id, m.url])))
    .digest('hex')
    .slice(0, 16);
  return { version: digest, members: sorted };
}

export function serializeMembership(doc: MembershipDocument): string {
  return `${JSON.stringify({ version: doc.version, members: doc.members.map((m) => ({ id: m.id, url: m.url })) }, null, 2)}\n`;
}
