/**
 * The runtime table: how the agent runs a container of a given image as a local process, in
 * place of pulling and running the image. A test passes the table; the first entry whose
 * `matches(image)` is true decides. Two entries are provided:
 *   - redisRuntime: any image whose name (last path segment, before tag or digest) starts with
 *     `redis` → the host's `redis-server`/`redis-cli` with the container's command and args,
 *     following the official image's entrypoint (args alone, or args starting with `-` or ending
 *     in `.conf`, run redis-server). Foreign binaries get no IPC lifeline, so they run under
 *     `setpriv --pdeathsig KILL`: they die with the agent's process however it dies.
 *   - imgroupRuntime: images named `imgroup` → `node bin/imgroup.js <args>` of this checkout (the
 *     image's ENTRYPOINT is `node /app/bin/imgroup.js`; processes run dist/, so build first), with
 *     an IPC lifeline, the image's env (IMGROUP_MODE/NODE_ENV production) and, standing in for the
 *     pod's own network namespace, every listen address (IMGROUP_GATE_HOST, IMGROUP_LOGIC_HOST,
 *     IMGROUP_OPS_HOST) set to the pod IP unless the pod sets it, and pod DNS names resolved
 *     (pod-dns.ts: IMGROUP_REDIS_SEEDS names the Redis pods by their headless-Service names).
 *     Standing in for the pod's own mount namespace, a ServiceAccount volume mounted at the
 *     standard /var/run/secrets/kubernetes.io/serviceaccount (the `kube-api-access-*` volume the
 *     API server's ServiceAccount admission adds) is named to the process by
 *     IMGROUP_SERVICE_ACCOUNT_DIR (its host directory), where imgroup's in-cluster configuration
 *     reads the token, CA and namespace.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { imgroupBinPath } from '../../../runtime/dev/imgroup-process.js';
import { DEFAULT_SERVICE_ACCOUNT_DIR } from '../../../runtime/kube/kube-config.js';

/** What the agent knows when it launches a container (values already expanded and rewritten). */
export interface LaunchContext {
  pod: V1Pod;
  container: V1Container;
  podIP: string;
  /** The container's env: image env + resolved pod env, `$(VAR)`-expanded, mount paths rewritten. */
  env: Record<string, string>;
  /** container.command after expansion and rewriting (undefined: the image's entrypoint). */
  command: string[] | undefined;
  /** container.args after expansion and rewriting (undefined: the image's default arguments). */
  args: string[] | undefined;
  /** The host directory behind a container path (its volume mounts), or null; absent: no mounts. */
  hostPathOf?: (containerPath: string) => string | null;
}

export interface Launch {
  command: string;
  args: string[];
  /** Env beyond LaunchContext.env (image env, listen addresses); pod env wins over image env. */
  env?: Record<string, string>;
  /** An IPC channel that closes when the agent's process dies (node children exit on it). */
  ipcLifeline?: boolean;
  /** Run under `setpriv --pdeathsig KILL` (default true when ipcLifeline is not set). */
  dieWithAgent?: boolean;
  /** A node program: preload pod-dns-preload.mjs so it resolves pod DNS names (pod-dns.ts). */
  podDns?: boolean;
}

export interface ContainerRuntime {
  /** For error messages and logs. */
  name: string;
  matches(image: string): boolean;
  launch(ctx: LaunchContext): Launch;
}

export type RuntimeTable = readonly ContainerRuntime[];

/** `registry/org/redis:7.2@sha256:…` → `redis`. */
export function imageName(image: string): string {
  const withoutDigest = image.split('@', 1)[0] ?? '';
  const last = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  return last.split(':', 1)[0] ?? '';
}

export function findRuntime(table: RuntimeTable, image: string): ContainerRuntime | null {
  return table.find((r) => r.matches(image)) ?? null;
}

export interface RedisRuntimeOptions {
  /** The redis-server binary. Default `redis-server` from PATH. */
  redisServer?: string;
  /** The redis-cli binary. Default `redis-cli` from PATH. */
  redisCli?: string;
}

export function redisRuntime(opts: RedisRuntimeOptions = {}): ContainerRuntime {
  const binaries: Record<string, string> = { 'redis-server': opts.redisServer ?? 'redis-server', 'redis-cli': opts.redisCli ?? 'redis-cli' };
  return {
    name: 'redis',
    matches: (image) => imageName(image).startsWith('redis'),
    launch(ctx) {
      let argv = [...(ctx.command ?? []), ...(ctx.args ?? (ctx.command ? [] : ['redis-server']))];
      // The official image's docker-entrypoint.sh: options or a config file alone mean redis-server.
      if (!ctx.command && (argv[0]?.startsWith('-') || argv[0]?.endsWith('.conf'))) argv = ['redis-server', ...argv];
      const [program = 'redis-server', ...rest] = argv;
      return { command: binaries[program] ?? program, args: rest };
    },
  };
}

export interface ImgroupRuntimeOptions {
  /** bin/imgroup.js to run. Default this checkout's. */
  bin?: string;
  /** Image names (see imageName) this entry runs. Default ['imgroup']. */
  images?: readonly string[];
}

const IMGROUP_IMAGE_ENV = { NODE_ENV: 'production', IMGROUP_MODE: 'production' } as const;
const LISTEN_ADDRESS_ENV = ['IMGROUP_GATE_HOST', 'IMGROUP_LOGIC_HOST', 'IMGROUP_OPS_HOST'] as const;

export function imgroupRuntime(opts: ImgroupRuntimeOptions = {}): ContainerRuntime {
  const bin = opts.bin ?? imgroupBinPath;
  const images = opts.images ?? ['imgroup'];
  return {
    name: 'imgroup',
    matches: (image) => images.includes(imageName(image)),
    launch(ctx) {
      const env: Record<string, string> = { ...IMGROUP_IMAGE_ENV };
      for (const name of LISTEN_ADDRESS_ENV) env[name] = ctx.podIP;
      const serviceAccountDir = ctx.hostPathOf?.(DEFAULT_SERVICE_ACCOUNT_DIR) ?? null;
      if (serviceAccountDir !== null) env.IMGROUP_SERVICE_ACCOUNT_DIR = serviceAccountDir;
      // A command replaces the ENTRYPOINT (`node /app/bin/imgroup.js`); map its two known parts.
      const entry = !ctx.command
        ? [process.execPath, bin]
        : ctx.command[0] === 'imgroup'
          ? [process.execPath, bin, ...ctx.command.slice(1)]
          : ctx.command.map((part) => (part === 'node' ? process.execPath : part === '/app/bin/imgroup.js' ? bin : part));
      const [command = process.execPath, ...rest] = entry;
      return { command, args: [...rest, ...(ctx.args ?? [])], env, ipcLifeline: true, podDns: true };
    },
  };
}
