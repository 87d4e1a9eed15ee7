/**
 * Address of one Redis node as the admin reaches it. `busPort` is the cluster bus port when it is
 * not `port + 10000` (Redis 7 `cluster-port`); the admin otherwise learns it from the node itself.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { parseSeed } from '../redis/redis-store.js';

export interface Addr {
  host: string;
  port: number;
}

/**
 * A node to place in a cluster. `failureDomain` (a Kubernetes node or zone name) keeps a replica
 * away from its master's domain where possible; it defaults to `host`.
 */
export interface ClusterMember extends Addr {
  failureDomain?: string;
}

/** `host:port`, IPv6 in brackets: the form of seeds and of log fields. */
export function formatAddr(a: Addr): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Parse `host:port` (IPv6 as `[addr]:port`); throws a message naming the bad address. */
export function parseAddr(s: string): Addr {
  return parseSeed(s);
}

export function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** The host as an IP address: CLUSTER MEET and MIGRATE want IPs, not names. */
export async function resolveIp(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  const { address } = await lookup(host);
  return address;
}
