/**
 * The ConfigMap N-membership: key `membership.json` holds the logic membership document
 * (runtime/protocol/membership.ts) that gates route by. Members are this cluster's logic pods
 * that are Ready, not terminating and have an IP, each with id = pod name and
 * url = ws://<pod IP>:<internal port>; the version is derived from the member list alone, so it
 * changes exactly when the list does (and re-publishing an unchanged list writes nothing new).
 */
import { isIP } from 'node:net';
import type { V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import { isValidNodeName } from '../../runtime/protocol/internal-frames.js';
import { buildMembership, MEMBERSHIP_LIMITS, type MembershipDocument, type MembershipMember, serializeMembership, sortMembers } from '../../runtime/protocol/membership.js';
import type { ImGroupCluster } from '../api/v1alpha1.js';
import { type ClusterContext, clusterContext } from './cluster-context.js';
import { APP_NAME, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_NAME, ownedMeta } from './object-meta.js';
import { LOGIC_INTERNAL_PORT, LOGIC_INTERNAL_PORT_NAME } from './ports.js';
import { MEMBERSHIP_KEY } from './runtime-env.js';

/** Annotation of the ConfigMap with the document's version (for kubectl and watchers). */
export const MEMBERSHIP_VERSION_ANNOTATION = 'imgroup.dev/membership-version';

export function isPodReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * The port a pod declares as `internal` (what the StatefulSet's template says, so a pod of an
 * older template keeps its own), else the runtime default.
 */
function internalPortOf(pod: V1Pod): number {
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === LOGIC_INTERNAL_PORT_NAME && Number.isInteger(p.containerPort) && p.containerPort > 0 && p.containerPort < 65536) return p.containerPort;
    }
  }
  return LOGIC_INTERNAL_PORT;
}

function internalUrl(ip: string, port: number): string {
  return isIP(ip) === 6 ? `ws://[${ip}]:${port}` : `ws://${ip}:${port}`;
}

/** The member a pod contributes, or null when it is not (yet, or any more) a member. */
export function memberOfPod(ctx: ClusterContext, pod: V1Pod): MembershipMember | null {
  const name = pod.metadata?.name;
  const labels = pod.metadata?.labels ?? {};
  if (labels[LABEL_NAME] !== APP_NAME || labels[LABEL_INSTANCE] !== ctx.name || labels[LABEL_COMPONENT] !== 'logic') return null;
  if (pod.metadata?.namespace !== undefined && pod.metadata.namespace !== ctx.namespace) return null;
  if (!isValidNodeName(name)) return null;
  if (pod.metadata?.deletionTimestamp) return null;
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return null;
  if (!isPodReady(pod)) return null;
  const ip = pod.status?.podIP;
  if (typeof ip !== 'string' || isIP(ip) === 0) return null;
  return { id: name, url: internalUrl(ip, internalPortOf(pod)) };
}

/**
 * The membership document of a cluster from its logic pods (as listed from the API; pods of other
 * clusters or tiers are ignored). At most MEMBERSHIP_LIMITS.maxMembers members, the first by id
 * (spec.logic.replicas cannot ask for more).
 */
export function membershipDocument(cluster: ImGroupCluster, pods: readonly V1Pod[]): MembershipDocument {
  const ctx = clusterContext(cluster);
  const byId = new Map<string, MembershipMember>();
  for (const pod of pods) {
    const member = memberOfPod(ctx, pod);
    if (member) byId.set(member.id, member);
  }
  return buildMembership(sortMembers([...byId.values()]).slice(0, MEMBERSHIP_LIMITS.maxMembers));
}

export function desiredMembershipConfigMap(cluster: ImGroupCluster, doc: MembershipDocument): V1ConfigMap {
  const ctx = clusterContext(cluster);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: ownedMeta(ctx, ctx.names.membership, 'logic', { [MEMBERSHIP_VERSION_ANNOTATION]: doc.version }),
    data: { [MEMBERSHIP_KEY]: serializeMembership(doc) },
  };
}
