/**
 * A container's environment, resolved the way the kubelet resolves it:
 *   1. `envFrom` sources in order (ConfigMaps and Secrets, with their `prefix`; keys that are not
 *      valid variable names are skipped, as the kubelet does),
 *   2. then `env` in order, later entries overriding earlier ones: `value` with `$(VAR)` references
 *      to the variables defined before it expanded, `valueFrom.fieldRef` (metadata.name, namespace,
 *      uid, labels['k'], annotations['k'], spec.nodeName, spec.serviceAccountName, status.podIP(s),
 *      status.hostIP(s)), `resourceFieldRef` (limits/requests of cpu, memory, ephemeral-storage;
 *      an unset limit is the node's allocatable), `secretKeyRef` and `configMapKeyRef` read
 *      through the API (`optional` honoured).
 * A missing object or key that is not optional is a ContainerConfigError (the kubelet's
 * CreateContainerConfigError: the container waits and the agent tries again).
 * `$(VAR)` expansion of command and args happens in pod-worker.ts with the finished environment.
 */
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { expandEnvReferences } from '../../../operator/desired/env-references.js';
import { divideQuantity, parseQuantity } from './quantity.js';

export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
}

/** Where Secret and ConfigMap values come from (the API in the agent; a table in unit tests). */
export interface EnvSources {
  secret(namespace: string, name: string): Promise<{ data?: Record<string, string> } | null>;
  configMap(namespace: string, name: string): Promise<{ data?: Record<string, string>; binaryData?: Record<string, string> } | null>;
}

export interface PodAddresses {
  podIP: string;
  hostIP: string;
}

/** What a Node offers, for resourceFieldRef limits the container leaves unset. */
export interface NodeAllocatable {
  cpu: string;
  memory: string;
  'ephemeral-storage': string;
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export async function resolveContainerEnv(
  pod: V1Pod,
  container: V1Container,
  addresses: PodAddresses,
  sources: EnvSources,
  allocatable: NodeAllocatable,
): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = await sources.configMap(namespace, from.configMapRef.name ?? '');
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) if (ENV_NAME.test(prefix + k)) env[prefix + k] = v;
    } else if (from.secretRef) {
      const secret = await sources.secret(namespace, from.secretRef.name ?? '');
      if (!secret) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(secret.data ?? {})) if (ENV_NAME.test(prefix + k)) env[prefix + k] = decodeSecret(v);
    }
  }
  for (const v of container.env ?? []) {
    const value = await envValue(pod, container, v, env, addresses, sources, allocatable);
    if (value !== null) env[v.name] = value;
  }
  return env;
}

async function envValue(
  pod: V1Pod,
  container: V1Container,
  v: V1EnvVar,
  soFar: Readonly<Record<string, string>>,
  addresses: PodAddresses,
  sources: EnvSources,
  allocatable: NodeAllocatable,
): Promise<string | null> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const from = v.valueFrom;
  if (!from) return expandEnvReferences(v.value ?? '', soFar);
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath, addresses);
  if (from.resourceFieldRef) return resourceValue(container, from.resourceFieldRef.resource, from.resourceFieldRef.divisor, allocatable);
  if (from.secretKeyRef) {
    const { name = '', key, optional } = from.secretKeyRef;
    const secret = await sources.secret(namespace, name);
    const raw = secret?.data?.[key];
    if (raw !== undefined) return decodeSecret(raw);
    if (optional) return null;
    throw new ContainerConfigError(secret ? `couldn't find key ${key} in Secret ${namespace}/${name}` : `secret "${name}" not found`);
  }
  if (from.configMapKeyRef) {
    const { name = '', key, optional } = from.configMapKeyRef;
    const cm = await sources.configMap(namespace, name);
    const value = cm?.data?.[key];
    if (value !== undefined) return value;
    if (optional) return null;
    throw new ContainerConfigError(cm ? `couldn't find key ${key} in ConfigMap ${namespace}/${name}` : `configmap "${name}" not found`);
  }
  throw new ContainerConfigError(`env ${v.name}: valueFrom has no source the test node agent supports`);
}

const SUBSCRIPT = /^metadata\.(labels|annotations)\['([^']+)'\]$/;

/** The downward API's field paths (env and downwardAPI volumes). */
export function fieldValue(pod: V1Pod, fieldPath: string, addresses: PodAddresses): string {
  const m = SUBSCRIPT.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2] as string] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata?.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata?.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return addresses.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return addresses.hostIP;
    default:
      throw new ContainerConfigError(`unsupported fieldRef ${JSON.stringify(fieldPath)}`);
  }
}

/** `key="value"` lines, sorted by key, as the downward API writes label and annotation maps. */
function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(map?.[k] ?? '')}`)
    .join('\n');
}

function resourceValue(container: V1Container, resource: string, divisor: string | undefined, allocatable: NodeAllocatable): string {
  const [kind, name] = resource.split('.', 2) as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || (name !== 'cpu' && name !== 'memory' && name !== 'ephemeral-storage')) {
    throw new ContainerConfigError(`unsupported resourceFieldRef ${JSON.stringify(resource)}`);
  }
  const set = container.resources?.[kind]?.[name] ?? (kind === 'requests' ? container.resources?.limits?.[name] : undefined);
  // An unset limit is the node's allocatable; an unset request is 0 (the kubelet's defaults).
  const quantity = set ?? (kind === 'limits' ? allocatable[name] : '0');
  const value = parseQuantity(String(quantity));
  const by = parseQuantity(divisor ?? '1');
  if (value === null || by === null || by === 0) throw new ContainerConfigError(`resourceFieldRef ${resource}: cannot divide ${quantity} by ${divisor ?? '1'}`);
  return String(divideQuantity(value, by));
}

function decodeSecret(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}
