/**
 * Our own Redis Cluster administration, spoken through plain `ioredis` connections to individual
 * nodes (no redis-cli). Used by `imgroup dev`, the tests, and the Kubernetes operator, whose
 * lifecycle engine (operator/redis/redis-lifecycle.ts) drives bootstrap, self-repair and scaling
 * through it. The commands to one node are node-commands.ts; this adds the work that spans nodes.
 *
 * Everything a node says is untrusted input (parsed by cluster-nodes.ts / cluster-info.ts),
 * every wait is bounded, and bootstrap refuses to touch a node that already serves slots or
 * holds keys: a restarted operator must never wipe data.
 */
import { infoField } from '../redis/redis-info.js';
import { ClusterAdminError } from './cluster-admin-error.js';
import { assessClusterHealth, type ClusterHealth, type HealthExpectation, type NodeObservation } from './cluster-health.js';
import { myselfOf, type ClusterNodeRecord, type ClusterNodesView } from './cluster-nodes.js';
import { planCluster, type ClusterPlan } from './cluster-plan.js';
import { RedisNodeCommands, type NodeCommandsOptions } from './node-commands.js';
import { formatAddr, type Addr, type ClusterMember } from './redis-addr.js';
import { formatSlotRanges } from './slot-ranges.js';
import { migrateSlot, moveSlot, type MigrateSlotOptions, type MigrateSlotResult, type SlotEnd } from './slot-migration.js';

export interface RedisClusterAdminOptions extends NodeCommandsOptions {
  /** Interval between probes of the bounded waits (formCluster, waitHealthy). Default 100 ms. */
  pollMs?: number;
}

export interface FormClusterOptions {
  /** Nodes that get slots, in order: master i gets the i-th of an even split of 16384 slots. */
  masters: readonly ClusterMember[];
  /** Nodes that follow masters, dealt round-robin with failure-domain anti-affinity. */
  replicas?: readonly ClusterMember[];
  /**
   * A complete plan made by the caller (e.g. the operator's placement by pod ordinal and
   * Kubernetes node); when given, `masters` and `replicas` are ignored.
   */
  plan?: ClusterPlan;
  /** Bound on the whole bootstrap including the final health wait. Default 30000 ms. */
  timeoutMs?: number;
}

export interface FormedCluster {
  plan: ClusterPlan;
  /** Node id by `host:port`. */
  ids: Map<string, string>;
  health: ClusterHealth;
}

export interface WaitHealthyOptions {
  nodes: readonly Addr[];
  /** Default 30000 ms. */
  timeoutMs?: number;
  expect?: HealthExpectation;
}

const DEFAULT_FORM_TIMEOUT_MS = 30_000;
/** While nodes are being introduced, repeat CLUSTER MEET for a still-unknown node this often. */
const REMEET_EVERY_MS = 2000;

/** The single-node commands (node-commands.ts) plus the work that spans the cluster. */
export class RedisClusterAdmin extends RedisNodeCommands {
  private readonly pollMs: number;

  constructor(opts: RedisClusterAdminOptions = {}) {
    super(opts);
    this.pollMs = opts.pollMs ?? 100;
  }

  /** Ask every node for CLUSTER INFO and CLUSTER NODES, in parallel. Never throws. */
  async observe(addrs: readonly Addr[]): Promise<NodeObservation[]> {
    return Promise.all(
      addrs.map(async (addr): Promise<NodeObservation> => {
        try {
          const [info, view] = await Promise.all([this.clusterInfo(addr), this.nodes(addr)]);
          return { addr, info, view, error: null };
        } catch (err) {
          return { addr, info: null, view: null, error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
  }

  async health(addrs: readonly Addr[], expect: HealthExpectation = {}): Promise<ClusterHealth> {
    return assessClusterHealth(await this.observe(addrs), expect);
  }

  /** Poll `health` until it is healthy; a ClusterAdminError TIMEOUT lists the last problems. */
  async waitHealthy(o: WaitHealthyOptions): Promise<ClusterHealth> {
    let last: ClusterHealth | undefined;
    await this.until(`cluster of ${o.nodes.length} nodes healthy`, o.timeoutMs ?? DEFAULT_FORM_TIMEOUT_MS, async () => {
      last = await this.health(o.nodes, o.expect);
      return { done: last.healthy, detail: last.problems.join('; ') };
    });
    return last as ClusterHealth;
  }

  /**
   * Poll `INFO replication` of each replica until its link to its master is up and no sync is in
   * progress: from then on its master can count it in a `WAIT` (a cluster can be healthy — every
   * replica following its master — while a replica's first full sync is still running).
   */
  async waitReplicationLinks(replicas: readonly Addr[], timeoutMs = DEFAULT_FORM_TIMEOUT_MS): Promise<void> {
    await this.until(`${replicas.length} replica(s) in sync with their masters`, timeoutMs, async () => {
      const behind: string[] = [];
      await Promise.all(
        replicas.map(async (addr) => {
          const info = await this.command(addr, 'info', 'replication').then(String, (err: Error) => `error:${err.message}`);
          const link = infoField(info, 'master_link_status');
          const syncing = infoField(info, 'master_sync_in_progress');
          if (link !== 'up' || syncing !== '0') behind.push(`${formatAddr(addr)} link ${link ?? 'unknown'}, sync in progress ${syncing ?? 'unknown'}`);
        }),
      );
      return { done: behind.length === 0, detail: behind.join('; ') };
    });
  }

  /**
   * Bootstrap a new cluster from empty nodes: CLUSTER MEET them, wait until all know each other,
   * give each master its even share of slots, make replicas follow their masters, and wait until
   * every node reports `cluster_state:ok`, sees all slots served and agrees on the slot map.
   * Refuses (terminal ClusterAdminError) before changing anything if a node already serves
   * slots, holds keys, or knows live nodes outside the request. Re-running it after a partial
   * bootstrap that assigned no slots yet is safe.
   */
  async formCluster(o: FormClusterOptions): Promise<FormedCluster> {
    const deadline = Date.now() + (o.timeoutMs ?? DEFAULT_FORM_TIMEOUT_MS);
    const plan = o.plan ?? planCluster(o.masters, o.replicas ?? []);
    const all: ClusterMember[] = [...plan.masters.map((m) => m.addr), ...plan.replicas.map((r) => r.addr)];
    const log = this.log;
    log.info({ masters: plan.masters.length, replicas: plan.replicas.length }, 'forming redis cluster');

    const found = await this.preflight(all);
    const selves = found.map((f) => f.me);
    const ids = new Map(all.map((a, i) => [formatAddr(a), (selves[i] as ClusterNodeRecord).id]));
    if (new Set(ids.values()).size !== all.length) {
      throw new ClusterAdminError('INVALID', 'the same node is listed twice under different addresses');
    }

    // Distinct config epochs for the masters, as redis-cli does, so they need not resolve collisions.
    await Promise.all(
      plan.masters.map(async (m, i) => {
        const f = found[i] as { me: ClusterNodeRecord; view: ClusterNodesView };
        if (f.me.configEpoch !== 0 || f.view.nodes.length > 1) return;
        await this.command(m.addr, 'cluster', 'set-config-epoch', i + 1).catch((err) => log.debug({ err }, 'set-config-epoch skipped'));
      }),
    );

    await this.introduce(all, selves, deadline);

    await Promise.all(plan.masters.map((m) => this.addSlots(m.addr, m.slots)));
    await Promise.all(plan.replicas.map((r) => this.replicate(r.addr, ids.get(formatAddr(r.master)) as string)));
    log.info({ slots: plan.masters.map((m) => `${formatAddr(m.addr)}=${formatSlotRanges(m.slots)}`) }, 'slots assigned, replicas attached');

    const health = await this.waitHealthy({
      nodes: all,
      timeoutMs: Math.max(0, deadline - Date.now()),
      expect: { knownNodes: all.length, replicaOf: plan.replicas.map((r) => ({ replica: r.addr, master: r.master })) },
    });
    log.info({ nodes: all.length }, 'redis cluster formed');
    return { plan, ids, health };
  }

  /** Move one slot and its keys from master `from` to master `to` (see slot-migration.ts). */
  async migrateSlot(slot: number, from: Addr, to: Addr, opts: MigrateSlotOptions = {}): Promise<MigrateSlotResult> {
    return migrateSlot(this, slot, from, to, { password: this.password, ...opts });
  }

  /**
   * Move one slot between masters whose ids the caller knows (no lookups; see slot-migration.ts
   * moveSlot). `others` are told the new owner at the end.
   */
  async moveSlot(slot: number, from: SlotEnd, to: SlotEnd, others: readonly Addr[], opts: MigrateSlotOptions = {}): Promise<{ keysMoved: number; batches: number }> {
    return moveSlot(this, slot, from, to, others, { password: this.password, ...opts });
  }

  /**
   * CLUSTER MEET every node from the first one, then wait until every node knows every other
   * (handshakes done). Gossip spreads what the first node learns; a node still unknown to it is
   * met again every REMEET_EVERY_MS, in case a handshake timed out.
   */
  private async introduce(all: readonly ClusterMember[], selves: readonly ClusterNodeRecord[], deadline: number): Promise<void> {
    const first = all[0] as ClusterMember;
    const ids = new Set(selves.map((s) => s.id));
    const meetUnknown = async () => {
      const known = new Set((await this.nodes(first)).nodes.filter((n) => !n.flags.has('handshake')).map((n) => n.id));
      await Promise.all(
        all.map(async (a, i) => {
          const self = selves[i] as ClusterNodeRecord;
          if (i > 0 && !known.has(self.id)) await this.meet(first, { ...a, busPort: self.busPort });
        }),
      );
    };
    await meetUnknown();
    let lastMeet = Date.now();
    await this.until('all nodes to know each other', deadline - Date.now(), async () => {
      const missing: string[] = [];
      for (const o of await this.observe(all)) {
        const seen = new Set(o.view?.nodes.filter((n) => !n.flags.has('handshake') && !n.flags.has('noaddr')).map((n) => n.id) ?? []);
        const lacking = [...ids].filter((id) => !seen.has(id)).length;
        if (o.error) missing.push(`${formatAddr(o.addr)}: ${o.error}`);
        else if (lacking > 0) missing.push(`${formatAddr(o.addr)} does not know ${lacking} node(s) yet`);
      }
      if (missing.length > 0 && Date.now() - lastMeet >= REMEET_EVERY_MS) {
        lastMeet = Date.now();
        await meetUnknown().catch((err) => this.log.warn({ err }, 'CLUSTER MEET failed; retrying'));
      }
      return { done: missing.length === 0, detail: missing.join('; ') };
    });
  }

  /**
   * Every node to bootstrap must be a cluster node that serves no slots, holds no keys and knows
   * no live node outside the request. Returns each node's own record and view, in input order.
   */
  private async preflight(all: readonly ClusterMember[]): Promise<Array<{ me: ClusterNodeRecord; view: ClusterNodesView }>> {
    const found = await Promise.all(
      all.map(async (addr) => {
        const where = formatAddr(addr);
        const [info, view, keys] = await Promise.all([this.clusterInfo(addr), this.nodes(addr), this.dbSize(addr)]);
        if (view.rejected.length > 0) throw new ClusterAdminError('BAD_REPLY', `${where}: CLUSTER NODES line ${view.rejected[0]?.lineNo}: ${view.rejected[0]?.reason}`);
        const me = myselfOf(view);
        if (!me) throw new ClusterAdminError('BAD_REPLY', `${where}: CLUSTER NODES has no myself line`);
        const withSlots = view.nodes.find((n) => n.slots.length > 0 || n.migrating.length > 0 || n.importing.length > 0);
        if (withSlots || info.slotsAssigned > 0) {
          const who = withSlots ? `node ${withSlots.id.slice(0, 8)} (${withSlots.host}:${withSlots.port}) serves slots ${formatSlotRanges(withSlots.slots.slice(0, 3))}` : `${info.slotsAssigned} slots are assigned`;
          throw new ClusterAdminError('SLOTS_ASSIGNED', `refusing to bootstrap: ${where} already belongs to a cluster (${who}); bootstrapping over it could lose data. Reset it explicitly (CLUSTER RESET on an empty node) if that is really intended.`);
        }
        if (keys > 0) throw new ClusterAdminError('NOT_EMPTY', `refusing to bootstrap: ${where} holds ${keys} keys; bootstrapping over it could lose them. Empty it (FLUSHALL) if that is really intended.`);
        return { me, view };
      }),
    );
    const ids = new Set(found.map((f) => f.me.id));
    found.forEach(({ view }, i) => {
      const live = (n: ClusterNodeRecord) => !n.flags.has('fail') && !n.flags.has('noaddr') && !n.flags.has('handshake');
      const foreign = view.nodes.find((n) => !ids.has(n.id) && live(n));
      if (foreign) throw new ClusterAdminError('FOREIGN_NODES', `refusing to bootstrap: ${formatAddr(all[i] as Addr)} knows node ${foreign.id.slice(0, 8)} (${foreign.host}:${foreign.port}), which is not part of the requested cluster`);
    });
    return found;
  }

  /** Poll `probe` every pollMs until it is done; ClusterAdminError TIMEOUT after `timeoutMs`. */
  private async until(what: string, timeoutMs: number, probe: () => Promise<{ done: boolean; detail: string }>): Promise<void> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    let detail = 'not probed';
    for (;;) {
      const r = await probe();
      if (r.done) return;
      detail = r.detail;
      if (Date.now() + this.pollMs > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
    throw new ClusterAdminError('TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}: ${detail}`);
  }
}
