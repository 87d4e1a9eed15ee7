/**
 * The rule both membership sources (file and ConfigMap) share for a valid document: the same
 * version as the one in force changes nothing; a new version becomes the one in force and is
 * handed to `onChange`, whose failure is logged and never escapes into the source's loop.
 */
import type { Logger } from '../ops/logger.js';
import type { MembershipDocument } from '../protocol/membership.js';

/** The document in force after offering `doc`. */
export function applyMembership(current: MembershipDocument | null, doc: MembershipDocument, onChange: (doc: MembershipDocument) => void, log: Logger): MembershipDocument {
  if (current && current.version === doc.version) return current;
  try {
    onChange(doc);
  } catch (err) {
    log.error({ err }, 'applying the membership document failed');
  }
  return doc;
}
