/**
 * A NetworkPolicy evaluator for tests — "which pod may reach which port" — because no network
 * plugin that enforces NetworkPolicies can run here. It follows the semantics of
 * networking.k8s.io/v1 for ingress (what the imgroup operator writes):
 *   - a pod selected by no policy of type Ingress in its namespace accepts everything;
 *   - otherwise a connection is allowed when some rule of some selecting policy admits both its
 *     port (no ports = every port; a named port resolves against the target's container ports;
 *     protocol defaults to TCP; endPort makes a range) and its source (no `from` = every source;
 *     a peer with podSelector alone = pods of the policy's namespace; with namespaceSelector =
 *     pods of the namespaces it selects; ipBlock = addresses in the CIDR outside `except`);
 *   - label selectors: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); an
 *     empty selector selects everything.
 * Policies are the typed client-node objects (`_from` is `from` on the wire), as read from the API.
 */
import { BlockList, isIP } from 'node:net';
import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';

export interface PodView {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** Container ports, as the pod declares them. */
  ports: { name?: string | undefined; containerPort: number; protocol?: string | undefined }[];
  ip?: string;
}

export interface NamespaceView {
  name: string;
  labels: Record<string, string>;
}

/** A source of traffic: a pod, or an address outside the cluster. */
export type Source = { pod: PodView } | { ip: string };

export function selectorMatches(selector: V1LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`selector operator ${e.operator} is not known to the evaluator`);
    }
  }
  return true;
}

function inBlock(ip: string, cidr: string, except: readonly string[]): boolean {
  const family = (a: string) => (isIP(a) === 6 ? 'ipv6' : 'ipv4');
  const subnet = (c: string) => {
    const [addr, prefix] = c.split('/') as [string, string];
    const list = new BlockList();
    list.addSubnet(addr, Number(prefix), family(addr));
    return list;
  };
  if (!subnet(cidr).check(ip, family(ip))) return false;
  return !except.some((e) => subnet(e).check(ip, family(ip)));
}

function portMatches(p: V1NetworkPolicyPort, target: PodView, port: number, protocol: string): boolean {
  if ((p.protocol ?? 'TCP') !== protocol) return false;
  if (p.port === undefined) return true;
  if (typeof p.port === 'number') return p.endPort === undefined ? p.port === port : port >= p.port && port <= p.endPort;
  // A named port: the target's container port of that name (and protocol).
  return target.ports.some((c) => c.name === p.port && c.containerPort === port && (c.protocol ?? 'TCP') === protocol);
}

function peerMatches(peer: V1NetworkPolicyPeer, policyNamespace: string, source: Source, namespaces: readonly NamespaceView[]): boolean {
  if (peer.ipBlock) {
    const ip = 'ip' in source ? source.ip : source.pod.ip;
    return ip !== undefined && inBlock(ip, peer.ipBlock.cidr, peer.ipBlock.except ?? []);
  }
  if (!('pod' in source)) return false; // selectors select pods only
  const pod = source.pod;
  if (peer.namespaceSelector) {
    const ns = namespaces.find((n) => n.name === pod.namespace);
    if (!ns) throw new Error(`namespace ${pod.namespace} of pod ${pod.name} is not known to the evaluator`);
    if (!selectorMatches(peer.namespaceSelector, ns.labels)) return false;
  } else if (pod.namespace !== policyNamespace) return false;
  return peer.podSelector === undefined || selectorMatches(peer.podSelector, pod.labels);
}

/** The policies of the target's namespace that select it for ingress. */
export function selectingPolicies(policies: readonly V1NetworkPolicy[], target: PodView): V1NetworkPolicy[] {
  return policies.filter((p) => {
    if (p.metadata?.namespace !== target.namespace) return false;
    const types = p.spec?.policyTypes ?? ['Ingress'];
    return types.includes('Ingress') && selectorMatches(p.spec?.podSelector ?? {}, target.labels);
  });
}

/** May `source` open a connection to `target` on `port`? */
export function mayConnect(policies: readonly V1NetworkPolicy[], namespaces: readonly NamespaceView[], source: Source, target: PodView, port: number, protocol = 'TCP'): boolean {
  const selecting = selectingPolicies(policies, target);
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (p.spec?.ingress ?? []).some((rule) => {
      const ports = rule.ports ?? [];
      if (ports.length > 0 && !ports.some((pp) => portMatches(pp, target, port, protocol))) return false;
      const from = rule._from ?? [];
      return from.length === 0 || from.some((peer) => peerMatches(peer, p.metadata?.namespace ?? '', source, namespaces));
    }),
  );
}
