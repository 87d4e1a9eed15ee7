/**
 * `IMGROUP_MEMBERSHIP_CONFIGMAP=<namespace>/<name>`: which ConfigMap a gate watches for the logic
 * membership document. Both parts follow the Kubernetes naming rules, so a typo is rejected at
 * start-up instead of turning into a watch that is forbidden or finds nothing.
 */

export interface ConfigMapRef {
  namespace: string;
  name: string;
}

/** A namespace is a DNS-1123 label. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_LABEL_LENGTH = 63;
/** A ConfigMap name is a DNS-1123 subdomain. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_SUBDOMAIN_LENGTH = 253;

export type ConfigMapRefResult = { ok: true; ref: ConfigMapRef } | { ok: false; error: string };

/** Parse `<namespace>/<name>`. Never throws; the error says what a valid value looks like. */
export function parseConfigMapRef(text: string): ConfigMapRefResult {
  const parts = text.split('/');
  if (parts.length !== 2) return { ok: false, error: `${JSON.stringify(text)} is not <namespace>/<name> (exactly one "/")` };
  const [namespace, name] = parts as [string, string];
  if (namespace.length === 0 || namespace.length > MAX_LABEL_LENGTH || !DNS_LABEL.test(namespace)) {
    return { ok: false, error: `namespace ${JSON.stringify(namespace)} must be 1-${MAX_LABEL_LENGTH} characters of a-z 0-9 - starting and ending with a letter or digit` };
  }
  if (name.length === 0 || name.length > MAX_SUBDOMAIN_LENGTH || !DNS_SUBDOMAIN.test(name)) {
    return { ok: false, error: `ConfigMap name ${JSON.stringify(name)} must be 1-${MAX_SUBDOMAIN_LENGTH} characters of a-z 0-9 - . (dot-separated parts starting and ending with a letter or digit)` };
  }
  return { ok: true, ref: { namespace, name } };
}

export function formatConfigMapRef(ref: ConfigMapRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/** The field selector every list and watch must carry: the gate's Role names this one object. */
export function nameFieldSelector(ref: ConfigMapRef): string {
  return `metadata.name=${ref.name}`;
}
