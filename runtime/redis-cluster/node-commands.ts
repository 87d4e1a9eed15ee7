/**
 * Commands to one Redis Cluster node at a time, each over a cached plain `ioredis` connection
 * to that node (no redis-cli). What a reply says is untrusted input: it is parsed by
 * cluster-nodes.ts / cluster-info.ts or range-checked here before use.
 *
 * The cluster admin (cluster-admin.ts) builds its multi-node work — bootstrap, health waits —
 * on these, and so does slot migration (slot-migration.ts), which the admin offers too.
 */
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { type RedisTls, tlsConnectOptions } from '../redis/redis-tls.js';
import { backoffDelayMs, type BackoffBounds } from '../retry/backoff.js';
import { ClusterAdminError } from './cluster-admin-error.js';
import { parseClusterInfo, type ClusterInfo } from './cluster-info.js';
import { myselfOf, parseClusterNodes, type ClusterNodeRecord, type ClusterNodesView } from './cluster-nodes.js';
import { formatAddr, resolveIp, type Addr } from './redis-addr.js';
import type { SlotRange } from './slot-ranges.js';

/** The logger methods the admin uses; a pino Logger fits. */
export type AdminLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface NodeCommandsOptions {
  /** `requirepass` shared by all nodes; also used as AUTH for MIGRATE. Default: none. */
  password?: string | undefined;
  /** Bound on opening the TCP connection to one node. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** A command without a reply after this long fails with code UNREACHABLE. Default 5000 ms. */
  commandTimeoutMs?: number;
  /** Default: silent. */
  logger?: AdminLogger;
  /** Connect to every node with TLS (Redis with tls-port, port 0). Default: plain TCP. */
  tls?: RedisTls | null | undefined;
  /**
   * With `tls`: the name a node's certificate must carry, when it is not the host connected to
   * (the operator reaches pods by IP, their certificates name their DNS names). Undefined for a
   * node: the host itself is checked.
   */
  serverName?: ((addr: Addr) => string | undefined) | undefined;
}

const MAX_RECONNECTS = 3;
/** Delay before reconnecting to a node: short, the admin's callers have bounded waits of their own. */
const RECONNECT_BACKOFF: BackoffBounds = { minMs: 100, maxMs: 300 };

export class RedisNodeCommands {
  private readonly conns = new Map<string, Redis>();
  /**
   * The last error of each node's connection since it was last ready: what a command that fails
   * for want of a connection reports (a refused TLS handshake says why, where ioredis' own error
   * only says that it gave up).
   */
  private readonly connErrors = new Map<string, string>();
  protected readonly log: AdminLogger;
  /** AUTH of every node, and of MIGRATE's connection to the target. */
  protected readonly password: string | undefined;

  constructor(private readonly nodeOpts: NodeCommandsOptions = {}) {
    this.log = nodeOpts.logger ?? pino({ level: 'silent' });
    this.password = nodeOpts.password;
  }

  /** The cached connection to one node (made on first use; remade after it gave up). */
  connection(addr: Addr): Redis {
    const key = formatAddr(addr);
    const cached = this.conns.get(key);
    if (cached && cached.status !== 'end') return cached;
    const tls = this.nodeOpts.tls;
    const conn = new Redis({
      host: addr.host,
      port: addr.port,
      password: this.password,
      ...(tls ? { tls: tlsConnectOptions(tls, this.nodeOpts.serverName?.(addr)) } : {}),
      connectTimeout: this.nodeOpts.connectTimeoutMs ?? 2000,
      commandTimeout: this.nodeOpts.commandTimeoutMs ?? 5000,
      maxRetriesPerRequest: 1,
      // Up to 3 reconnection attempts (ioredis counts them from 1), then commands fail UNREACHABLE.
      retryStrategy: (times) => (times > MAX_RECONNECTS ? null : backoffDelayMs(times - 1, RECONNECT_BACKOFF)),
      enableReadyCheck: false,
      lazyConnect: true,
    });
    conn.on('error', (err: Error) => {
      this.connErrors.set(key, err.message);
      this.log.debug({ err, node: key }, 'redis admin connection error');
    });
    conn.on('ready', () => this.connErrors.delete(key));
    this.conns.set(key, conn);
    return conn;
  }

  /** One command to one node. Errors become ClusterAdminError UNREACHABLE (no reply) or REJECTED. */
  async command(addr: Addr, command: string, ...args: Array<string | number | Buffer>): Promise<unknown> {
    try {
      return await this.connection(addr).call(command, ...args);
    } catch (err) {
      throw this.commandError(addr, command, args, err);
    }
  }

  private commandError(addr: Addr, command: string, args: ReadonlyArray<string | number | Buffer>, err: unknown): ClusterAdminError {
    const what = `${formatAddr(addr)}: ${[command, ...args.slice(0, 2)].join(' ')}`;
    const msg = err instanceof Error ? err.message : String(err);
    if (err instanceof Error && err.name === 'ReplyError') {
      if (/cluster support disabled/i.test(msg)) return new ClusterAdminError('NOT_CLUSTER', `${what}: ${msg} (start it with cluster-enabled yes)`, { cause: err });
      return new ClusterAdminError('REJECTED', `${what}: ${msg}`, { cause: err });
    }
    return new ClusterAdminError('UNREACHABLE', `${what}: ${this.connErrors.get(formatAddr(addr)) ?? msg}`, { cause: err });
  }

  /** Like `command`, but bulk replies come back as Buffers (keys may be binary). */
  async commandBuffer(addr: Addr, command: string, ...args: Array<string | number | Buffer>): Promise<unknown> {
    try {
      return await this.connection(addr).callBuffer(command, ...args);
    } catch (err) {
      throw this.commandError(addr, command, args, err);
    }
  }

  async ping(addr: Addr): Promise<void> {
    const reply = await this.command(addr, 'ping');
    if (reply !== 'PONG') throw new ClusterAdminError('BAD_REPLY', `${formatAddr(addr)}: PING answered ${JSON.stringify(reply)}`);
  }

  async clusterInfo(addr: Addr): Promise<ClusterInfo> {
    return parseClusterInfo(await this.command(addr, 'cluster', 'info'));
  }

  /** CLUSTER NODES as this node sees the cluster; malformed lines are in `rejected`. */
  async nodes(addr: Addr): Promise<ClusterNodesView> {
    return parseClusterNodes(await this.command(addr, 'cluster', 'nodes'));
  }

  /** This node's own record (id, role, bus port, slots). */
  async myself(addr: Addr): Promise<ClusterNodeRecord> {
    const me = myselfOf(await this.nodes(addr));
    if (!me) throw new ClusterAdminError('BAD_REPLY', `${formatAddr(addr)}: CLUSTER NODES has no valid myself line`);
    return me;
  }

  async dbSize(addr: Addr): Promise<number> {
    const n = await this.command(addr, 'dbsize');
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new ClusterAdminError('BAD_REPLY', `${formatAddr(addr)}: DBSIZE answered ${JSON.stringify(n)}`);
    return n;
  }

  /** Ask `addr` to handshake with `target` (resolved to an IP; bus port sent when known). */
  async meet(addr: Addr, target: Addr & { busPort?: number | null }): Promise<void> {
    const ip = await resolveIp(target.host);
    const args: number[] = target.busPort ? [target.port, target.busPort] : [target.port];
    await this.command(addr, 'cluster', 'meet', ip, ...args);
  }

  /** CLUSTER ADDSLOTSRANGE (Redis 7), or ADDSLOTS in chunks on older servers. */
  async addSlots(addr: Addr, ranges: readonly SlotRange[]): Promise<void> {
    if (ranges.length === 0) return;
    try {
      await this.command(addr, 'cluster', 'addslotsrange', ...ranges.flatMap((r) => [r.start, r.end]));
      return;
    } catch (err) {
      if (!(err instanceof ClusterAdminError && /unknown subcommand/i.test(err.message))) throw err;
    }
    for (const r of ranges) {
      for (let s = r.start; s <= r.end; s += 1000) {
        const chunk = Array.from({ length: Math.min(1000, r.end - s + 1) }, (_, k) => s + k);
        await this.command(addr, 'cluster', 'addslots', ...chunk);
      }
    }
  }

  async replicate(addr: Addr, masterId: string): Promise<void> {
    await this.command(addr, 'cluster', 'replicate', masterId);
  }

  /** Remove a node from `addr`'s table (for 60 s Redis will not re-add it from gossip). */
  async forget(addr: Addr, nodeId: string): Promise<void> {
    await this.command(addr, 'cluster', 'forget', nodeId);
  }

  /**
   * CLUSTER RESET: the node forgets every other node and serves no slots (SOFT keeps its node
   * id; HARD makes a new one). Redis refuses it on a master that holds keys; a replica is turned
   * into an empty master (its dataset is flushed).
   */
  async reset(addr: Addr, mode: 'soft' | 'hard' = 'soft'): Promise<void> {
    await this.command(addr, 'cluster', 'reset', mode);
  }

  async countKeysInSlot(addr: Addr, slot: number): Promise<number> {
    const n = await this.command(addr, 'cluster', 'countkeysinslot', slot);
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new ClusterAdminError('BAD_REPLY', `${formatAddr(addr)}: CLUSTER COUNTKEYSINSLOT answered ${JSON.stringify(n)}`);
    return n;
  }

  /**
   * Close the cached connections to every address not in `addrs` (pods that went away or
   * changed address), so a long-running operator does not collect them.
   */
  retain(addrs: readonly Addr[]): void {
    const keep = new Set(addrs.map(formatAddr));
    const gone = [...this.conns.entries()].filter(([key]) => !keep.has(key));
    for (const [key, conn] of gone) {
      this.conns.delete(key);
      conn.disconnect(); // no QUIT: the address may no longer answer at all
    }
  }

  /** Run on a replica: promote it (coordinated; `force`/`takeover` for a dead master or no quorum). */
  async failover(addr: Addr, mode?: 'force' | 'takeover'): Promise<void> {
    await this.command(addr, 'cluster', 'failover', ...(mode ? [mode] : []));
  }

  async setSlot(addr: Addr, slot: number, state: 'importing' | 'migrating' | 'node', nodeId: string): Promise<void>;
  async setSlot(addr: Addr, slot: number, state: 'stable'): Promise<void>;
  async setSlot(addr: Addr, slot: number, state: 'importing' | 'migrating' | 'node' | 'stable', nodeId?: string): Promise<void> {
    await this.command(addr, 'cluster', 'setslot', slot, state, ...(nodeId ? [nodeId] : []));
  }

  /** Close every cached connection. */
  async close(): Promise<void> {
    const conns = [...this.conns.values()];
    this.conns.clear();
    this.connErrors.clear();
    await Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
