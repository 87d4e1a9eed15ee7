/**
 * `spec.networkPolicy`: whether the operator makes the cluster's NetworkPolicies
 * (operator/desired/network-policies.ts) and who, besides the cluster's own pods, may reach the
 * gates' client port and the ops (metrics) ports. A peer is a NetworkPolicyPeer reduced to what a
 * user needs here: an IP block, or namespace and/or pod selectors by labels (matchLabels).
 */
import { arrayOf, boolean, mapOf, object, string } from './schema-builder.js';

/** Peers per list: a NetworkPolicy is a user-sized object, and CEL costs grow with list bounds. */
export const MAX_POLICY_PEERS = 32;
/** `except` CIDRs of one IP block. */
export const MAX_IP_BLOCK_EXCEPT = 32;
/** Labels of one selector. */
export const MAX_SELECTOR_LABELS = 16;
/** An IPv4 or IPv6 CIDR, checked in full by the API server when the NetworkPolicy is applied. */
export const CIDR_PATTERN = '^[0-9a-fA-F:.]+/[0-9]{1,3}$';

const cidr = (description: string) => string({ description, pattern: CIDR_PATTERN, maxLength: 64 });

function labelSelector(what: string) {
  return object({
      description: `${what}, by labels (all must match; an empty selector selects all).`,
      properties: {
        matchLabels: mapOf(string({ description: 'A label value.', maxLength: 63 }), { description: 'Labels the object must carry, name → value.', maxProperties: MAX_SELECTOR_LABELS }),
      },
  });
}

/** A peer of the list `spec.networkPolicy.<list>` (its rule's message names the list). */
function peerSchema(list: string) {
  return object({
    description: 'A source of traffic: ipBlock, or namespaceSelector and/or podSelector (as in a NetworkPolicyPeer). podSelector alone means pods of the cluster\'s namespace.',
    properties: {
      ipBlock: object({
        description: 'Addresses (e.g. clients outside the Kubernetes cluster, seen through a load balancer that keeps their address).',
        properties: {
          cidr: cidr('The CIDR, e.g. 10.0.0.0/8 or 2001:db8::/32.'),
          except: arrayOf(cidr('A CIDR inside `cidr` that is not allowed.'), { description: 'CIDRs inside `cidr` that are not allowed.', maxItems: MAX_IP_BLOCK_EXCEPT, listType: 'atomic' }),
        },
        required: ['cidr'],
      }),
      namespaceSelector: labelSelector('Namespaces whose pods may connect'),
      podSelector: labelSelector('Pods that may connect'),
    },
    rules: [
      {
        rule: 'has(self.ipBlock) != (has(self.namespaceSelector) || has(self.podSelector))',
        message: `spec.networkPolicy.${list}: each peer has either ipBlock or namespaceSelector/podSelector, not both and not neither`,
        check: (self) => (self.ipBlock !== undefined) !== (self.namespaceSelector !== undefined || self.podSelector !== undefined),
      },
    ],
  });
}

function peers(list: string, description: string) {
  return arrayOf(peerSchema(list), { description, maxItems: MAX_POLICY_PEERS, listType: 'atomic' });
}

export const networkPolicySchema = object({
  description:
    'NetworkPolicies N-gate, N-logic and N-redis: only gates accept client traffic; logic pods accept their internal port only from the cluster\'s gates; Redis accepts only the cluster\'s own pods and the operator. They take effect only where the network plugin (CNI) enforces NetworkPolicies; the operator may have the feature turned off as a whole (IMGROUP_OPERATOR_NETWORK_POLICIES).',
  default: {},
  properties: {
    enabled: boolean({ description: 'Make the NetworkPolicies (false deletes the ones the operator made). Default true.', default: true }),
    clientFrom: peers('clientFrom', 'Sources that may reach the gates\' client port (WebSocket and admin API). Absent: any source. A list: exactly those (an empty list: none).'),
    metricsFrom: peers('metricsFrom', 'Sources that may reach the ops ports (/metrics, /healthz, /readyz) of gates and logic pods, e.g. Prometheus. Absent: every pod of every namespace. A list: exactly those (an empty list: none; the kubelet\'s probes come from the node and are always allowed).'),
  },
});
