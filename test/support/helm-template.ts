/**
 * `helm template` of charts/imgroup for tests: helm is the binary hack/helm/build.sh builds from
 * its Go module (IMGROUP_HELM names another one), run with --values files written from objects.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type KubernetesObject, loadAllYaml } from '@kubernetes/client-node';

export const CHART_PATH = fileURLToPath(new URL('../../charts/imgroup', import.meta.url));

/** helm v4: $IMGROUP_HELM, else the newest build in the imgroup cache (hack/helm/build.sh). */
export function helmBinary(): string {
  if (process.env.IMGROUP_HELM) return process.env.IMGROUP_HELM;
  const cache = process.env.IMGROUP_CACHE_DIR ?? join(homedir(), '.cache', 'imgroup');
  const builds = existsSync(cache) ? readdirSync(cache).filter((d) => /^helm-v4\./.test(d)).sort() : [];
  const bin = builds.map((d) => join(cache, d, 'bin', 'helm')).filter((p) => existsSync(p)).at(-1);
  if (!bin) throw new Error(`helm not found in ${cache}/helm-v4.*/bin: build it with hack/helm/build.sh (or set IMGROUP_HELM)`);
  return bin;
}

export interface HelmResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TemplateOptions {
  /** Values, written to a file and passed with --values. */
  values?: Record<string, unknown>;
  /** --api-versions (e.g. monitoring.coreos.com/v1). */
  apiVersions?: string[];
  namespace?: string;
  releaseName?: string;
}

export async function helmTemplate(opts: TemplateOptions = {}): Promise<HelmResult> {
  const dir = mkdtempSync(join(tmpdir(), 'imgroup-helm-'));
  try {
    const valuesFile = join(dir, 'values.json');
    writeFileSync(valuesFile, JSON.stringify(opts.values ?? {}));
    const args = ['template', opts.releaseName ?? 'imgroup', CHART_PATH, '--namespace', opts.namespace ?? 'imgroup-system', '--values', valuesFile];
    for (const v of opts.apiVersions ?? []) args.push('--api-versions', v);
    return await run(helmBinary(), args, { HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'), HELM_DATA_HOME: join(dir, 'data') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The objects of a successful `helm template`; throws with helm's stderr otherwise. */
export async function renderChart(opts: TemplateOptions = {}): Promise<KubernetesObject[]> {
  const r = await helmTemplate(opts);
  if (r.code !== 0) throw new Error(`helm template exited ${r.code}: ${r.stderr}`);
  return (loadAllYaml(r.stdout) as (KubernetesObject | null)[]).filter((o): o is KubernetesObject => o !== null);
}

function run(bin: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<HelmResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
