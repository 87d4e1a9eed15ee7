/**
 * Where a gate reads the logic membership document from. Exactly one source per gate: the
 * ConfigMap watched through the Kubernetes API when IMGROUP_MEMBERSHIP_CONFIGMAP is set
 * (membership-configmap.ts), else the file IMGROUP_MEMBERSHIP_FILE (membership-file.ts; on
 * Kubernetes the same ConfigMap mounted as a volume). Both share one contract: a valid document
 * with a new version → onChange; anything unusable → onError, and the current one stays in force.
 */
import { randomInt } from 'node:crypto';
import type { MembershipDocument } from '../protocol/membership.js';
import type { Logger } from '../ops/logger.js';
import type { GateOptions } from './config.js';
import { MembershipConfigMap } from './membership-configmap.js';
import { KubeConfigMapApi, loadGateKubeConfig } from './membership-configmap-api.js';
import { formatConfigMapRef } from './membership-configmap-ref.js';
import { MembershipFile } from './membership-file.js';

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

/** A list of the ConfigMap without answer after this long fails (and is retried). */
export const MEMBERSHIP_LIST_TIMEOUT_MS = 10_000;
/** The API server ends each watch after 5-10 minutes (as client-go's reflector asks); it resumes at once. */
const WATCH_TIMEOUT_SECONDS = { min: 300, max: 600 } as const;

type SourceOptions = Pick<GateOptions, 'membershipFile' | 'membershipPollMs' | 'membershipConfigMap' | 'kubeconfig' | 'serviceAccountDir' | 'membershipWatchStallMs'>;

/** The gate's one membership source. Throws ConfigError when the ConfigMap source has no usable API access. */
export function createMembershipSource(options: SourceOptions, hooks: MembershipSourceHooks): MembershipSource {
  if (options.membershipConfigMap) {
    const ref = options.membershipConfigMap;
    const kc = loadGateKubeConfig(options.kubeconfig, MEMBERSHIP_LIST_TIMEOUT_MS, options.serviceAccountDir);
    hooks.log.info({ configMap: formatConfigMapRef(ref), server: kc.getCurrentCluster()?.server }, 'membership source: ConfigMap through the Kubernetes API');
    const api = new KubeConfigMapApi(kc, ref, {
      watchTimeoutSeconds: () => randomInt(WATCH_TIMEOUT_SECONDS.min, WATCH_TIMEOUT_SECONDS.max + 1),
    });
    return new MembershipConfigMap({ ...hooks, ref, api, stallMs: options.membershipWatchStallMs });
  }
  if (!options.membershipFile) throw new Error('no membership source: set IMGROUP_MEMBERSHIP_CONFIGMAP or IMGROUP_MEMBERSHIP_FILE');
  hooks.log.info({ path: options.membershipFile }, 'membership source: file');
  return new MembershipFile({ ...hooks, path: options.membershipFile, pollMs: options.membershipPollMs });
}
