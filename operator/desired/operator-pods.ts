/**
 * The operator's own pods as a NetworkPolicy peer: the Redis policy of every cluster admits them
 * (the Redis lifecycle talks to every Redis pod). The operator learns its namespace from the
 * downward API and its pods' labels from the Helm chart (IMGROUP_OPERATOR_POD_NAMESPACE,
 * IMGROUP_OPERATOR_POD_LABELS); both are checked at start-up with `operatorPods`.
 */

export interface OperatorPods {
  namespace: string;
  /** Labels every operator pod carries (the chart's selector labels). */
  labels: Record<string, string>;
}

/** Labels of one selector at most (a pod's labels are a user-sized map). */
export const MAX_OPERATOR_POD_LABELS = 16;

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Why `key` is not a label key, or null. */
export function labelKeyProblem(key: string): string | null {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `label key ${JSON.stringify(key)}: the prefix must be a DNS subdomain`;
  if (!NAME.test(name)) return `label key ${JSON.stringify(key)}: the name must be 1-63 alphanumeric characters, '-', '_' or '.', starting and ending alphanumeric`;
  return null;
}

/** Why `value` is not a label value, or null. */
export function labelValueProblem(value: string): string | null {
  return value === '' || NAME.test(value) ? null : `label value ${JSON.stringify(value)}: at most 63 alphanumeric characters, '-', '_' or '.', starting and ending alphanumeric`;
}

/**
 * The operator's pods from its options: `namespace` and labels as `key=value` items. Undefined
 * when neither is given (an operator outside the cluster: no pod to admit). Throws RangeError
 * naming the setting when only one is given or a label is malformed.
 */
export function operatorPods(namespace: string | undefined, labelItems: readonly string[] | undefined): OperatorPods | undefined {
  const items = labelItems ?? [];
  if (namespace === undefined && items.length === 0) return undefined;
  if (namespace === undefined || !DNS_LABEL.test(namespace)) {
    throw new RangeError(`IMGROUP_OPERATOR_POD_NAMESPACE must be the operator's namespace (a DNS label) when IMGROUP_OPERATOR_POD_LABELS is set (got ${JSON.stringify(namespace)})`);
  }
  if (items.length === 0) throw new RangeError('IMGROUP_OPERATOR_POD_LABELS must list the operator pods\' labels (key=value,…) when IMGROUP_OPERATOR_POD_NAMESPACE is set');
  if (items.length > MAX_OPERATOR_POD_LABELS) throw new RangeError(`IMGROUP_OPERATOR_POD_LABELS has ${items.length} labels; at most ${MAX_OPERATOR_POD_LABELS}`);
  const labels: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new RangeError(`IMGROUP_OPERATOR_POD_LABELS: ${JSON.stringify(item)} is not key=value`);
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) throw new RangeError(`IMGROUP_OPERATOR_POD_LABELS: ${problem}`);
    if (Object.hasOwn(labels, key)) throw new RangeError(`IMGROUP_OPERATOR_POD_LABELS: label key ${JSON.stringify(key)} is given twice`);
    labels[key] = value;
  }
  return { namespace, labels };
}
