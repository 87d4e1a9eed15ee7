/**
 * Pod DNS names (`<hostname>.<subdomain>.<namespace>.svc`) resolvable inside the test process
 * itself, the way pod-dns-preload.mjs makes them resolvable in the node agent's children: while
 * installed, `dns.lookup` (what net.connect, and so ioredis, calls) answers such names from
 * `resolve` (e.g. the node agent's `resolve`, read afresh on every lookup so a pod's new address
 * is seen at once); every other name goes to the system resolver; an unknown pod name is
 * ENOTFOUND. Lets an ioredis Cluster client follow the hostnames Redis announces without a
 * natMap: ioredis (5.x) stores a MOVED target unmapped and so sends the retry to a random master
 * when a natMap is in use (redis/ioredis#1582), which a slot migration turns into "Too many
 * Cluster redirections". Returns the function that puts the original lookup back.
 */
import dns from 'node:dns';

const POD_NAME = /^[^.]+\.[^.]+\.[^.]+\.svc(?:\.cluster\.local)?\.?$/;

type LookupCallback = (err: NodeJS.ErrnoException | null, address?: string | dns.LookupAddress[], family?: number) => void;

export function installPodDnsLookup(resolve: (host: string) => string | null): () => void {
  const original = dns.lookup;
  const podLookup = function podLookup(hostname: string, options: unknown, callback?: LookupCallback): void {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    if (typeof hostname !== 'string' || !POD_NAME.test(hostname)) {
      (original as (...args: unknown[]) => void).call(dns, hostname, options, callback);
      return;
    }
    const opts = typeof options === 'object' && options !== null ? (options as { all?: boolean }) : {};
    const ip = resolve(hostname.replace(/\.$/, '').replace(/\.cluster\.local$/, ''));
    process.nextTick(() => {
      if (!ip) cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname }));
      else if (opts.all) cb(null, [{ address: ip, family: 4 }]);
      else cb(null, ip, 4);
    });
  };
  (dns as { lookup: unknown }).lookup = podLookup;
  return () => {
    if ((dns as { lookup: unknown }).lookup === podLookup) (dns as { lookup: unknown }).lookup = original;
  };
}
