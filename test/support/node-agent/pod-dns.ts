/**
 * The one piece of cluster DNS the tests need: a pod's name under its headless Service,
 * `<hostname>.<subdomain>.<namespace>.svc[.cluster.local]` (StatefulSet pods get hostname =
 * pod name and subdomain = serviceName), resolved to the loopback address the agent gave the pod.
 * Redis nodes announce such names (cluster-announce-hostname, preferred endpoint type hostname),
 * so an ioredis Cluster client needs them mapped: `natMap: podDnsNatMap(agent)`.
 *
 * Node children of the agent (runtimes with `podDns`, e.g. imgroup) resolve the same names
 * themselves: each agent keeps a hosts file `<data>/pod-hosts/<node>.json` of its pods, and
 * pod-dns-preload.mjs, preloaded with NODE_OPTIONS, answers dns.lookup from those files.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The preload module for node children (`--import=<this>`). */
export const POD_DNS_PRELOAD_URL = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'pod-dns-preload.mjs')).href;
export const POD_HOSTS_DIR_ENV = 'IMGROUP_TEST_POD_HOSTS_DIR';
export interface PodAddressView {
  namespace: string;
  name: string;
  hostname: string | undefined;
  subdomain: string | undefined;
  ip: string | null;
}

const POD_DNS_NAME = /^([^.]+)\.([^.]+)\.([^.]+)\.svc(?:\.cluster\.local)?\.?$/;

export function resolvePodHost(host: string, pods: Iterable<PodAddressView>): string | null {
  const m = POD_DNS_NAME.exec(host);
  if (!m) return null;
  const [, hostname, subdomain, namespace] = m;
  for (const p of pods) {
    if (p.namespace === namespace && (p.hostname ?? p.name) === hostname && p.subdomain === subdomain && p.ip) return p.ip;
  }
  return null;
}

export interface PodResolver {
  resolve(host: string): string | null;
}

/** An ioredis Cluster `natMap` for the pods of one or more agents: `host:port` of a pod name → its address; others unchanged. */
export function podDnsNatMap(...resolvers: PodResolver[]): (key: string) => { host: string; port: number } | null {
  return (key: string) => {
    const at = key.lastIndexOf(':');
    if (at <= 0) return null;
    const host = key.slice(0, at);
    for (const r of resolvers) {
      const ip = r.resolve(host);
      if (ip) return { host: ip, port: Number(key.slice(at + 1)) };
    }
    return null;
  };
}

/** `<hostname>.<subdomain>.<namespace>.svc` → ip for every pod with a subdomain and an address. */
export function podHosts(pods: Iterable<PodAddressView>): Record<string, string> {
  const hosts: Record<string, string> = {};
  for (const p of pods) if (p.subdomain && p.ip) hosts[`${p.hostname ?? p.name}.${p.subdomain}.${p.namespace}.svc`] = p.ip;
  return hosts;
}

/** Replace the hosts file at once (a reader sees the old or the new one, never half). */
export function writePodHosts(file: string, pods: Iterable<PodAddressView>): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, JSON.stringify(podHosts(pods)));
  renameSync(temp, file);
}

export function removePodHosts(file: string): void {
  rmSync(file, { force: true });
}

/** Env that makes a node child resolve pod names: the preload added to NODE_OPTIONS, and where the hosts files are. */
export function podDnsEnv(hostsDir: string, nodeOptions: string | undefined): Record<string, string> {
  return { NODE_OPTIONS: [nodeOptions, `--import=${POD_DNS_PRELOAD_URL}`].filter(Boolean).join(' '), [POD_HOSTS_DIR_ENV]: hostsDir };
}
