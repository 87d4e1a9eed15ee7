/**
 * The one piece of cluster DNS the tests need: a pod's name under its headless Service,
 * `<hostname>.<subdomain>.<namespace>.svc[.cluster.local]` (StatefulSet pods get hostname =
 * pod name and subdomain = serviceName), resolved to the loopback address the agent gave the pod.
 * Redis nodes announce such names (cluster-announce-hostname, preferred endpoint type hostname),
 * so an ioredis Cluster client needs them mapped: `natMap: podDnsNatMap(agent)`.
 */
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
