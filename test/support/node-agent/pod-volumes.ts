/**
 * A pod's volumes as host directories under the agent's data root:
 *   - persistentVolumeClaim → <data>/claims/<namespace>/<claim>/<claim uid>: it outlives the pod
 *     (a recreated StatefulSet pod finds its data again, like a bound PV), and a claim that was
 *     deleted and created anew (new uid) starts empty, like a freshly provisioned volume. The
 *     claim must exist (the kubelet waits for it too); its phase is not checked (no provisioner).
 *   - emptyDir → <pod dir>/volumes/<name>, removed with the pod.
 *   - configMap, secret, downwardAPI, projected (configMap, secret, downwardAPI and
 *     serviceAccountToken sources — the token by TokenRequest, bound to the pod) → files in
 *     <pod dir>/volumes/<name>, rewritten by `refreshVolumeFiles` whenever their content changes
 *     (the agent calls it periodically, like the kubelet's sync). A missing `kube-root-ca.crt`
 *     ConfigMap (no root-ca publisher runs in the test control plane) is served from the CA of
 *     the agent's kubeconfig.
 * Anything else (hostPath, csi, ephemeral …) is refused with a VolumeError naming the volume.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import type { V1DownwardAPIVolumeFile, V1KeyToPath, V1Pod, V1Volume, V1VolumeProjection } from '@kubernetes/client-node';
import { type EnvSources, fieldValue, type PodAddresses } from './container-env.js';

export class VolumeError extends Error {
  override readonly name = 'VolumeError';
}

export interface VolumeSources extends EnvSources {
  claim(namespace: string, name: string): Promise<{ metadata?: { uid?: string } } | null>;
  token(pod: V1Pod, audience: string | undefined, expirationSeconds: number): Promise<string>;
  /** The cluster CA (PEM), for `kube-root-ca.crt`. */
  caPem(): string | null;
}

export interface PreparedVolume {
  name: string;
  hostPath: string;
  kind: 'persistentVolumeClaim' | 'emptyDir' | 'files';
}

export interface VolumeContext {
  sources: VolumeSources;
  dataDir: string;
  podDir: string;
  addresses: PodAddresses;
}

const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

export function claimDir(dataDir: string, namespace: string, claim: string, uid: string): string {
  return join(dataDir, 'claims', namespace, claim, uid);
}

/** Create every volume's directory (and files); throws VolumeError when one cannot be made yet. */
export async function prepareVolumes(pod: V1Pod, ctx: VolumeContext): Promise<PreparedVolume[]> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const out: PreparedVolume[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim) {
      const name = v.persistentVolumeClaim.claimName;
      const claim = await ctx.sources.claim(namespace, name);
      if (!claim) throw new VolumeError(`volume ${v.name}: persistentvolumeclaim "${name}" not found`);
      const hostPath = claimDir(ctx.dataDir, namespace, name, claim.metadata?.uid ?? 'no-uid');
      mkdirSync(hostPath, { recursive: true });
      out.push({ name: v.name, hostPath, kind: 'persistentVolumeClaim' });
    } else if (v.emptyDir) {
      const hostPath = join(ctx.podDir, 'volumes', v.name);
      mkdirSync(hostPath, { recursive: true });
      out.push({ name: v.name, hostPath, kind: 'emptyDir' });
    } else if (v.configMap || v.secret || v.downwardAPI || v.projected) {
      const hostPath = join(ctx.podDir, 'volumes', v.name);
      mkdirSync(hostPath, { recursive: true });
      writeFiles(hostPath, await volumeFiles(pod, v, ctx));
      out.push({ name: v.name, hostPath, kind: 'files' });
    } else {
      throw new VolumeError(`volume ${v.name}: this volume type is not supported by the test node agent (only persistentVolumeClaim, emptyDir, configMap, secret, downwardAPI, projected)`);
    }
  }
  return out;
}

/** Rewrite the files of configMap/secret/downwardAPI/projected volumes whose content changed. Returns how many files changed. */
export async function refreshVolumeFiles(pod: V1Pod, volumes: readonly PreparedVolume[], ctx: VolumeContext): Promise<number> {
  let changed = 0;
  for (const prepared of volumes) {
    if (prepared.kind !== 'files') continue;
    const v = pod.spec?.volumes?.find((x) => x.name === prepared.name);
    if (!v) continue;
    changed += writeFiles(prepared.hostPath, await volumeFiles(pod, v, ctx, { keepTokens: true }));
  }
  return changed;
}

type Files = Map<string, Buffer | null>;

/** Relative path → content; null content = leave the file as it is (a token not re-minted). */
async function volumeFiles(pod: V1Pod, v: V1Volume, ctx: VolumeContext, opts: { keepTokens?: boolean } = {}): Promise<Files> {
  const files: Files = new Map();
  if (v.configMap) await addConfigMap(files, pod, v.name, v.configMap.name ?? '', v.configMap.items, v.configMap.optional, ctx);
  if (v.secret) await addSecret(files, pod, v.name, v.secret.secretName ?? '', v.secret.items, v.secret.optional, ctx);
  if (v.downwardAPI) addDownward(files, pod, v.downwardAPI.items ?? [], ctx);
  for (const source of v.projected?.sources ?? []) await addProjection(files, pod, v.name, source, ctx, opts);
  return files;
}

async function addProjection(files: Files, pod: V1Pod, volume: string, s: V1VolumeProjection, ctx: VolumeContext, opts: { keepTokens?: boolean }): Promise<void> {
  if (s.configMap) await addConfigMap(files, pod, volume, s.configMap.name ?? '', s.configMap.items, s.configMap.optional, ctx);
  else if (s.secret) await addSecret(files, pod, volume, s.secret.name ?? '', s.secret.items, s.secret.optional, ctx);
  else if (s.downwardAPI) addDownward(files, pod, s.downwardAPI.items ?? [], ctx);
  else if (s.serviceAccountToken) {
    const path = s.serviceAccountToken.path;
    files.set(path, opts.keepTokens ? null : Buffer.from(await ctx.sources.token(pod, s.serviceAccountToken.audience, s.serviceAccountToken.expirationSeconds ?? 3600)));
  } else throw new VolumeError(`volume ${volume}: a projected source other than configMap, secret, downwardAPI or serviceAccountToken is not supported`);
}

async function addConfigMap(files: Files, pod: V1Pod, volume: string, name: string, items: V1KeyToPath[] | undefined, optional: boolean | undefined, ctx: VolumeContext): Promise<void> {
  const namespace = pod.metadata?.namespace ?? 'default';
  let cm = await ctx.sources.configMap(namespace, name);
  const ca = name === ROOT_CA_CONFIGMAP && !cm ? ctx.sources.caPem() : null;
  if (ca) cm = { data: { 'ca.crt': ca } };
  if (!cm) {
    if (optional) return;
    throw new VolumeError(`volume ${volume}: configmap "${name}" not found`);
  }
  const data = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) data.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) data.set(k, Buffer.from(v, 'base64'));
  addKeys(files, volume, `ConfigMap ${namespace}/${name}`, data, items, optional);
}

async function addSecret(files: Files, pod: V1Pod, volume: string, name: string, items: V1KeyToPath[] | undefined, optional: boolean | undefined, ctx: VolumeContext): Promise<void> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const secret = await ctx.sources.secret(namespace, name);
  if (!secret) {
    if (optional) return;
    throw new VolumeError(`volume ${volume}: secret "${name}" not found`);
  }
  const data = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(secret.data ?? {})) data.set(k, Buffer.from(v, 'base64'));
  addKeys(files, volume, `Secret ${namespace}/${name}`, data, items, optional);
}

function addKeys(files: Files, volume: string, what: string, data: Map<string, Buffer>, items: V1KeyToPath[] | undefined, optional: boolean | undefined): void {
  if (!items || items.length === 0) {
    for (const [k, v] of data) files.set(k, v);
    return;
  }
  for (const item of items) {
    const value = data.get(item.key);
    if (value === undefined) {
      if (optional) continue;
      throw new VolumeError(`volume ${volume}: ${what} has no key ${item.key}`);
    }
    files.set(item.path, value);
  }
}

function addDownward(files: Files, pod: V1Pod, items: V1DownwardAPIVolumeFile[], ctx: VolumeContext): void {
  for (const item of items) {
    if (!item.fieldRef) throw new VolumeError(`downwardAPI item ${item.path}: only fieldRef is supported by the test node agent`);
    files.set(item.path, Buffer.from(fieldValue(pod, item.fieldRef.fieldPath, ctx.addresses), 'utf8'));
  }
}

/** Write files that differ (temp file + rename, so a reader never sees half a file). Returns the number written. */
function writeFiles(dir: string, files: Files): number {
  let written = 0;
  for (const [relative, content] of files) {
    if (content === null) continue;
    const target = safeJoin(dir, relative);
    if (sameContent(target, content)) continue;
    mkdirSync(dirname(target), { recursive: true });
    const temp = `${target}.tmp-${process.pid}`;
    writeFileSync(temp, content);
    renameSync(temp, target);
    written++;
  }
  return written;
}

function sameContent(file: string, content: Buffer): boolean {
  try {
    return readFileSync(file).equals(content);
  } catch {
    return false;
  }
}

/** `dir/relative`, refusing paths that leave dir (keys and item paths come from the API: untrusted). */
function safeJoin(dir: string, relative: string): string {
  const normalized = normalize(relative);
  if (relative.length === 0 || normalized.startsWith('..') || normalized.startsWith(sep) || normalized.split(sep).includes('..')) {
    throw new VolumeError(`volume file path ${JSON.stringify(relative)} leaves the volume`);
  }
  return join(dir, normalized);
}
