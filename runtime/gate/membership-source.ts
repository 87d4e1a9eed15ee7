/**
 * Where a gate reads the logic membership document from: the contract of its two sources, the
 * ConfigMap watched through the Kubernetes API (membership-configmap.ts) and the file
 * (membership-file.ts; on Kubernetes the same ConfigMap mounted as a volume). Both follow it: a
 * valid document with a new version → onChange; anything unusable → onError, and the current one
 * stays in force. membership-source-choice.ts picks one from the gate's options.
 */
import type { MembershipDocument } from '../protocol/membership.js';
import type { Logger } from '../ops/logger.js';

export interface MembershipSource {
  /** Read the document once (a failure is logged, not thrown), then follow its changes. */
  start(): Promise<void>;
  stop(): void;
  /** The document in force (null until a valid one was read). */
  readonly document: MembershipDocument | null;
}

export interface MembershipSourceHooks {
  /** A valid document whose version differs from the current one. */
  onChange(doc: MembershipDocument): void;
  /** The document could not be read or was unusable; the current one stays in force. */
  onError?(message: string): void;
  log: Logger;
}
