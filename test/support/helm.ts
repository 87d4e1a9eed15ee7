/**
 * `helm template` of charts/imgroup for tests. The helm binary is $IMGROUP_HELM, else one built
 * by hack/helm/build.sh into ${IMGROUP_CACHE_DIR:-~/.cache/imgroup}/helm-<version>/bin; null when
 * neither exists (tests that render then say they were skipped; `make lint` builds helm).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KubernetesObject, loadYaml } from '@kubernetes/client-node';

export const CHART_PATH = fileURLToPath(new URL('../../charts/imgroup', import.meta.url));

export function findHelm(): string | null {
  const fromEnv = process.env.IMGROUP_HELM;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  const cache = process.env.IMGROUP_CACHE_DIR ?? join(homedir(), '.cache', 'imgroup');
  if (!existsSync(cache)) return null;
  const builds = readdirSync(cache).filter((d) => d.startsWith('helm-')).sort().reverse();
  for (const d of builds) {
    const bin = join(cache, d, 'bin', 'helm');
    if (existsSync(bin)) return bin;
  }
  return null;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** `--set-json key=value` pairs: values given as JSON keep their types. */
  set?: Record<string, unknown>;
}

/** The manifest `helm template` renders (throws with helm's message when it refuses). */
export function helmTemplate(helm: string, o: RenderOptions = {}): string {
  const args = ['template', o.release ?? 'imgroup', CHART_PATH, '--namespace', o.namespace ?? 'imgroup-system'];
  for (const [key, value] of Object.entries(o.set ?? {})) args.push('--set-json', `${key}=${JSON.stringify(value)}`);
  try {
    return execFileSync(helm, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`helm ${args.join(' ')} failed: ${stderr.trim()}`);
  }
}

/**
 * One YAML document as plain data. The client's loadYaml would turn an object with apiVersion and
 * kind into its typed model (renaming keys such as x-kubernetes-validations), so those two
 * top-level lines are read apart.
 */
function parseRaw(doc: string): KubernetesObject | null {
  if (doc.replace(/^\s*#.*$/gm, '').trim() === '') return null;
  const top: Record<string, string> = {};
  const rest = doc.replace(/^(apiVersion|kind): (.+)$/gm, (_line, key: string, value: string) => {
    top[key] = value.trim().replace(/^"(.*)"$/, '$1');
    return '';
  });
  const body = loadYaml<Record<string, unknown> | null>(rest);
  if (body === null && top.kind === undefined) return null;
  return { ...(top.apiVersion ? { apiVersion: top.apiVersion } : {}), ...(top.kind ? { kind: top.kind } : {}), ...(body ?? {}) } as KubernetesObject;
}

/** The rendered objects (empty documents dropped), as plain data. */
export function renderChart(helm: string, o: RenderOptions = {}): KubernetesObject[] {
  return helmTemplate(helm, o)
    .split(/^---\s*$/m)
    .map(parseRaw)
    .filter((d): d is KubernetesObject => d !== null);
}
