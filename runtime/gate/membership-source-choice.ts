/**
 * The gate's one membership source, chosen from its options: the ConfigMap watched through the
 * Kubernetes API when IMGROUP_MEMBERSHIP_CONFIGMAP is set, else the file IMGROUP_MEMBERSHIP_FILE.
 * The Kubernetes client (@kubernetes/client-node, with everything it pulls in) is loaded only for
 * the ConfigMap: a gate reading a file never loads it.
 */
import type { GateOptions } from './config.js';
import { MembershipConfigMap } from './membership-configmap.js';
import { formatConfigMapRef } from './membership-configmap-ref.js';
import { MembershipFile } from './membership-file.js';
import type { MembershipSource, MembershipSourceHooks } from './membership-source.js';

/** A list of the ConfigMap without answer after this long fails (and is retried). */
export const MEMBERSHIP_LIST_TIMEOUT_MS = 10_000;

type SourceOptions = Pick<GateOptions, 'membershipFile' | 'membershipPollMs' | 'membershipConfigMap' | 'kubeconfig' | 'serviceAccountDir' | 'membershipWatchStallMs'>;

/** The gate's one membership source. Rejects with ConfigError when the ConfigMap source has no usable API access. */
export async function createMembershipSource(options: SourceOptions, hooks: MembershipSourceHooks): Promise<MembershipSource> {
  if (options.membershipConfigMap) {
    const ref = options.membershipConfigMap;
    const { configMapListWatchApi, loadGateKubeConfig } = await import('./membership-configmap-api.js');
    const kc = loadGateKubeConfig(options.kubeconfig, MEMBERSHIP_LIST_TIMEOUT_MS, options.serviceAccountDir);
    hooks.log.info({ configMap: formatConfigMapRef(ref), server: kc.getCurrentCluster()?.server }, 'membership source: ConfigMap through the Kubernetes API');
    return new MembershipConfigMap({ ...hooks, ref, api: configMapListWatchApi(kc, ref), stallMs: options.membershipWatchStallMs });
  }
  if (!options.membershipFile) throw new Error('no membership source: set IMGROUP_MEMBERSHIP_CONFIGMAP or IMGROUP_MEMBERSHIP_FILE');
  hooks.log.info({ path: options.membershipFile }, 'membership source: file');
  return new MembershipFile({ ...hooks, path: options.membershipFile, pollMs: options.membershipPollMs });
}
