/**
 * The two commands a user types, run as the user runs them: `kubectl` (of the control plane's
 * build) and `helm` (hack/helm/build.sh: built from its Go module and cached like the Kubernetes
 * binaries), both with the admin kubeconfig of the test control plane — the user's credentials,
 * never the operator's. Helm keeps its config, cache and data in a directory of its own per run
 * (HELM_*_HOME), so nothing of the user's helm setup is read or written.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubectlPath } from '../control-plane.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const HELM_BUILD = join(REPO, 'hack', 'helm', 'build.sh');

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Run a command; rejects with its stderr (and stdout) in the message when it exits non-zero. */
export function run(command: string, args: readonly string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, [...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed (${err.message.split('\n')[0]}):\n${stderr}\n${stdout}`.trimEnd()));
      else resolve({ stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

let kubectlCache: string | null = null;

/**
 * kubectl with the test's kubeconfig. Its discovery cache goes to a directory of this run: `run`
 * passes no HOME, and kubectl would otherwise write `.kube/cache` into the working directory.
 */
export function kubectl(kubeconfig: string, args: readonly string[], input?: string): Promise<CommandResult> {
  kubectlCache ??= mkdtempSync(join(tmpdir(), 'imgroup-kubectl-cache-'));
  return run(kubectlPath(), ['--kubeconfig', kubeconfig, '--cache-dir', kubectlCache, ...args], input === undefined ? {} : { input });
}

let helmBinary: string | null = null;

/** The helm binary of hack/helm/build.sh (built on first use when missing: minutes). */
export function helmPath(): string {
  if (helmBinary) return helmBinary;
  if (!existsSync(HELM_BUILD)) throw new Error(`${HELM_BUILD} is missing: helm is built by it (issue 10 §1)`);
  const out = execFileSync(HELM_BUILD, [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() ?? '';
  const candidate = existsSync(out) && statSync(out).isDirectory() ? join(out, 'helm') : out;
  if (!existsSync(candidate)) throw new Error(`${HELM_BUILD} printed ${JSON.stringify(out)}, which is no helm binary`);
  helmBinary = candidate;
  return candidate;
}

let helmHome: string | null = null;

export function helm(kubeconfig: string, args: readonly string[]): Promise<CommandResult> {
  helmHome ??= mkdtempSync(join(tmpdir(), 'imgroup-helm-'));
  return run(helmPath(), [...args], {
    env: {
      // HOME too: helm's Kubernetes client keeps its discovery cache under $HOME/.kube/cache.
      HOME: helmHome,
      KUBECONFIG: kubeconfig,
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_DATA_HOME: join(helmHome, 'data'),
    },
    timeoutMs: 300_000,
  });
}

/** The chart and its examples, in this checkout. */
export const CHART_DIR = join(REPO, 'charts', 'imgroup');
export const SMALL_EXAMPLE = join(CHART_DIR, 'examples', 'small.yaml');
export const PRODUCTION_EXAMPLE = join(CHART_DIR, 'examples', 'production.yaml');
