/**
 * A whole Redis Cluster of local redis-server processes, formed by our own admin code: what
 * `imgroup dev` runs on ports 7000… (bus ports 17000…) and what the integration tests run on free
 * ports. Node i gets `<dir>/<port>/`; the first `masters` ports are the masters.
 *
 * When the directory still holds a cluster formed earlier (same ports; nodes.conf survives a
 * restart, the data only with appendOnly) of the same shape, it is reused once healthy rather
 * than formed again; a cluster of another shape is refused, never wiped.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { readFileSync } from 'node:fs';
import { RedisClusterAdmin } from '../redis-cluster/cluster-admin.js';
import type { RedisServerTlsFiles } from '../redis/redis-server-tls.js';
import type { AdminLogger } from '../redis-cluster/node-commands.js';
import { slotMapOf } from '../redis-cluster/slot-map.js';
import { RedisServerProcess } from './redis-server-process.js';

export interface LocalRedisClusterOptions {
  /** Default 3. */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Explicit client ports, one per node (masters first); overrides basePort. */
  ports?: readonly number[];
  /** Ports basePort, basePort+1, … when `ports` is not given. Default 7000. */
  basePort?: number;
  /** Explicit cluster bus ports, one per node; default each port + busPortOffset. */
  busPorts?: readonly number[];
  /** Default 10000 (the Redis convention). */
  busPortOffset?: number;
  /** Parent directory of the nodes' directories. */
  dir: string;
  /** redis-server binary. Default `redis-server`. */
  redisServer?: string;
  /** Default 5000 ms. Tests use less so failures are detected quickly. */
  clusterNodeTimeoutMs?: number;
  password?: string | undefined;
  /** Persist data in each node's directory (append-only file). Default false. */
  appendOnly?: boolean;
  /**
   * Every node serves TLS only (client port, cluster bus, replication) with these files; the admin
   * connects with TLS, trusting `caFile`. The certificate must name `host` (an IP SAN for an IP).
   */
  tls?: RedisServerTlsFiles | undefined;
  /**
   * A host name every node announces (`cluster-announce-hostname`, preferred endpoint type
   * hostname): clients then reach the nodes by this name, and with `tls` the certificate is
   * checked against it (also by the admin). Default: none, nodes are named by IP.
   */
  announceHostname?: string | undefined;
  /** Bound on forming the cluster once all processes answer PING. Default 30000 ms. */
  formTimeoutMs?: number;
  /** Default: silent. */
  logger?: AdminLogger;
}

export interface LocalRedisCluster {
  /** `host:port` of every node, masters first. */
  seeds: string[];
  /** Every node process, masters first (index i ↔ seeds[i]). */
  nodes: RedisServerProcess[];
  /** Admin connected to these nodes (closed by stop()). */
  admin: RedisClusterAdmin;
  /** Stop every node (SIGTERM, then SIGKILL) and close the admin. The directory is left alone. */
  stop(): Promise<void>;
}

export async function startLocalRedisCluster(opts: LocalRedisClusterOptions): Promise<LocalRedisCluster> {
  const masters = opts.masters ?? 3;
  const perMaster = opts.replicasPerMaster ?? 1;
  if (!Number.isInteger(masters) || masters < 1) throw new RangeError(`masters must be an integer ≥ 1, got ${masters}`);
  if (!Number.isInteger(perMaster) || perMaster < 0) throw new RangeError(`replicasPerMaster must be an integer ≥ 0, got ${perMaster}`);
  const count = masters * (1 + perMaster);
  const host = opts.host ?? '127.0.0.1';
  const ports = opts.ports ? [...opts.ports] : Array.from({ length: count }, (_, i) => (opts.basePort ?? 7000) + i);
  const busPorts = opts.busPorts ? [...opts.busPorts] : ports.map((p) => p + (opts.busPortOffset ?? 10_000));
  if (ports.length !== count) throw new RangeError(`need ${count} ports for ${masters} masters × ${1 + perMaster}, got ${ports.length}`);
  if (busPorts.length !== count) throw new RangeError(`need ${count} bus ports, got ${busPorts.length}`);
  if (new Set([...ports, ...busPorts]).size !== 2 * count) throw new RangeError('client and bus ports must all differ');

  const log = opts.logger ?? pino({ level: 'silent' });
  const hostname = opts.announceHostname;
  const admin = new RedisClusterAdmin({
    password: opts.password,
    logger: log,
    tls: opts.tls ? { ca: readFileSync(opts.tls.caFile, 'utf8') } : null,
    serverName: () => hostname,
  });
  const started = await Promise.allSettled(
    ports.map((port, i) =>
      RedisServerProcess.start({
        host,
        port,
        busPort: busPorts[i] as number,
        dir: join(opts.dir, String(port)),
        redisServer: opts.redisServer,
        clusterNodeTimeoutMs: opts.clusterNodeTimeoutMs,
        password: opts.password,
        appendOnly: opts.appendOnly,
        tls: opts.tls,
        tlsServerName: hostname,
        extraArgs: hostname === undefined ? [] : ['--cluster-announce-hostname', hostname, '--cluster-preferred-endpoint-type', 'hostname'],
      }),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async (): Promise<void> => {
    await admin.close();
    await Promise.all(nodes.map((n) => n.stop()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }

  const addrs = nodes.map((n) => ({ host: n.addr.host, port: n.addr.port }));
  try {
    const existing = await existingShape(admin, addrs);
    if (existing === null) {
      await admin.formCluster({ masters: addrs.slice(0, masters), replicas: addrs.slice(masters), timeoutMs: opts.formTimeoutMs ?? 30_000 });
    } else if (existing.masters === masters && existing.nodes === count) {
      log.info({ nodes: count }, 'reusing the redis cluster formed earlier in this directory');
      await admin.waitHealthy({ nodes: addrs, timeoutMs: opts.formTimeoutMs ?? 30_000, expect: { knownNodes: count } });
    } else {
      throw new Error(
        `${opts.dir} holds a Redis Cluster of ${existing.masters} masters and ${existing.nodes} nodes, not the ${masters} masters and ${count} nodes asked for: ` +
          'ask for the same shape, or remove the directory to start afresh',
      );
    }
    // Ready for clients means ready for `WAIT` too: every replica has its master's data.
    await admin.waitReplicationLinks(addrs.slice(masters), opts.formTimeoutMs ?? 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { seeds: nodes.map((n) => n.seed), nodes, admin, stop };
}

/** Masters and nodes of the cluster these nodes already form (from nodes.conf), or null if none serves slots. */
async function existingShape(admin: RedisClusterAdmin, addrs: ReadonlyArray<{ host: string; port: number }>): Promise<{ masters: number; nodes: number } | null> {
  for (const o of await admin.observe(addrs)) {
    if (!o.view) continue;
    const map = slotMapOf(o.view.nodes);
    if (map.owners.size > 0) return { masters: map.owners.size, nodes: o.view.nodes.length };
  }
  return null;
}
