/**
 * The fault suite's test bed: a Redis Cluster of its own (3 masters + 3 replicas — the shared test
 * cluster is never killed), real logic and gate processes from bin/imgroup.js, the load driver
 * sending on every group and the checker. A scenario starts a bed, lets the load warm up, injects
 * its fault, measures the time to recover, heals, and asks for the verdict.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { eventually } from '../../support/eventually.js';
import { startRedisCluster, type TestRedisCluster } from '../../support/redis-cluster.js';
import { type LogicHandle, TestSystem } from '../../support/system.js';
import { DeliveryChecker, type Verdict } from './checker.js';
import { type FaultFigures, writeReport } from './fault-report.js';
import { LoadDriver, type LoadOptions } from './load-driver.js';

export const HEARTBEAT_MS = 1000;
export const CLUSTER_NODE_TIMEOUT_MS = 2000;
/** Generous bounds for waits that only decide how long a broken run takes to fail. */
const RECOVERY_WAIT_MS = 120_000;

export interface BedOptions {
  logic?: number;
  gates?: number;
  /** Environment of gate i only (e.g. a Redis redirect through a proxy). */
  gateEnv?: (i: number, cluster: TestRedisCluster) => Promise<Record<string, string>>;
  /** The addresses the membership document gives for the logic nodes (e.g. through a proxy). */
  membership?: (logic: readonly LogicHandle[]) => Promise<Array<Pick<LogicHandle, 'name' | 'internalUrl'>>>;
  load?: Partial<Omit<LoadOptions, 'gateUrls' | 'runId' | 'token'>>;
  /** Extra environment for every imgroup process. */
  env?: Record<string, string>;
}

export class FaultBed {
  readonly checker = new DeliveryChecker();
  driver!: LoadDriver;
  private constructor(
    readonly cluster: TestRedisCluster,
    readonly sys: TestSystem,
  ) {}

  static async start(opts: BedOptions = {}): Promise<FaultBed> {
    const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, clusterNodeTimeoutMs: CLUSTER_NODE_TIMEOUT_MS });
    const sys = new TestSystem({ redisSeeds: cluster.seeds, heartbeatMs: HEARTBEAT_MS, env: opts.env });
    const bed = new FaultBed(cluster, sys);
    try {
      await bed.waitReplicasInSync();
      await Promise.all(Array.from({ length: opts.logic ?? 2 }, (_, i) => sys.startLogic(`logic-${i}`)));
      sys.writeMembership(opts.membership ? await opts.membership(sys.logic) : sys.logic);
      const gateEnv = async (i: number) => {
        const extra = (await opts.gateEnv?.(i, cluster)) ?? {};
        // NODE_OPTIONS of the bed (e.g. --inspect) and of one gate (a preload) both apply.
        if (extra.NODE_OPTIONS && opts.env?.NODE_OPTIONS) extra.NODE_OPTIONS = `${opts.env.NODE_OPTIONS} ${extra.NODE_OPTIONS}`;
        return extra;
      };
      await Promise.all(Array.from({ length: opts.gates ?? 2 }, async (_, i) => sys.startGate(`gate-${i}`, await gateEnv(i))));
      const runId = randomBytes(3).toString('hex');
      bed.driver = new LoadDriver({ ...opts.load, gateUrls: sys.gates.map((g) => g.wsUrl), runId, token: (u) => sys.token(u) }, bed.checker);
      for (const [g, members] of bed.driver.membersByGroup()) await sys.addMembers(g, members);
      await bed.driver.connect();
      bed.driver.startSending();
      return bed;
    } catch (err) {
      await bed.stop();
      throw err;
    }
  }

  /** A replica can take over only once it has synchronised with its master. */
  async waitReplicasInSync(): Promise<void> {
    await eventually(
      'every Redis replica in sync with its master',
      async () => {
        let up = 0;
        for (const n of this.cluster.nodes) {
          const info = String(await this.cluster.admin.command(n.addr, 'info', 'replication'));
          if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false;
          if (info.includes('role:slave')) up++;
        }
        return up >= 3;
      },
      { timeoutMs: RECOVERY_WAIT_MS, retryErrors: true },
    );
  }

  /** Wait until every group has `n` accepted sends first written at or after `since`. */
  async acceptedEverywhere(what: string, since: number, n = 3): Promise<void> {
    await eventually(`${what}: every group has ${n} sends accepted`, () => this.checker.groups.every((g) => this.checker.acceptedCount(g, since) >= n), {
      timeoutMs: RECOVERY_WAIT_MS,
      explain: () => JSON.stringify(Object.fromEntries(this.checker.groups.map((g) => [g, this.checker.acceptedCount(g, since)]))),
    });
  }

  /** The load runs on every group. */
  warm(): Promise<void> {
    return this.acceptedEverywhere('warm-up', 0, 3);
  }

  /** Milliseconds from `injectedAt` until every group had a send first written after it accepted. */
  async timeToRecover(injectedAt: number): Promise<number> {
    let firsts = this.checker.firstAcceptedSince(injectedAt);
    await eventually(
      'every group accepts sends again after the fault',
      () => {
        firsts = this.checker.firstAcceptedSince(injectedAt);
        return [...firsts.values()].every((t) => t !== null);
      },
      {
        timeoutMs: RECOVERY_WAIT_MS,
        explain: () =>
          JSON.stringify({
            firstAccepted: Object.fromEntries(firsts),
            codes: this.checker.verdict(new Map()).codes,
            clients: this.driver.users.map((u) => `${u.userId}@gate-${u.gate}: ${u.client.state}, ${u.client.pendingSends} pending`),
          }),
      },
    );
    return Math.max(...[...firsts.values()].map((t) => (t as number) - injectedAt));
  }

  /**
   * Stop the load, let every send settle, mark each group's head and wait until every member has
   * received 1..head. Returns the verdict and, when some member never caught up, the wait's error
   * (so a soak can still write its figures before failing).
   */
  async settle(): Promise<{ verdict: Verdict; waitError: Error | null }> {
    await this.driver.stopSending();
    const heads = await this.driver.markHeads();
    let waitError: Error | null = null;
    await eventually('every member received its groups up to the head', () => this.checker.caughtUp(heads), {
      timeoutMs: RECOVERY_WAIT_MS,
      explain: async () => {
        const behind = this.checker.behind(heads).slice(0, 10);
        const lines = [];
        for (const b of behind) {
          const userId = b.slice(0, b.indexOf('@'));
          const u = this.driver.users.find((x) => x.userId === userId);
          const presence = await this.sys.admin('GET', `/v1/users/${userId}/presence`).catch((err: Error) => ({ body: err.message }));
          lines.push(`${b}; client ${u?.client.state} via gate-${u?.gate}; presence ${JSON.stringify(presence.body)}`);
        }
        return `${lines.join('\n')}\nlogs: ${this.sys.dir}`;
      },
    }).catch((err: Error) => {
      waitError = err;
    });
    return { verdict: this.checker.verdict(heads), waitError };
  }

  /** Nothing accepted lost, no gap, no duplicate, no changed body, no INTERNAL anywhere. */
  static assertVerdict(v: Verdict): void {
    expect(v.lost, 'accepted messages lost').toBe(0);
    expect(v.gappedMembers, 'members without a gap-free 1..head sequence').toBe(0);
    expect(v.reusedSeqs, 'seqs acknowledged to two different sends').toBe(0);
    expect(v.duplicates, 'messages handed to the app twice').toBe(0);
    expect(v.mismatched, 'messages received with another body than accepted').toBe(0);
    expect(v.codes.INTERNAL ?? 0, 'INTERNAL seen by a client').toBe(0);
    expect(v.delivered).toBe(v.expected);
  }

  /** `settle()`, then the verdict asserted. */
  async verdict(): Promise<Verdict> {
    const { verdict, waitError } = await this.settle();
    if (waitError) throw waitError;
    FaultBed.assertVerdict(verdict);
    return verdict;
  }

  /** Write the scenario's figures to the report directory and print them. */
  report(figures: Omit<FaultFigures, 'accepted' | 'delivered' | 'expected' | 'lost' | 'duplicates' | 'codes'>, v: Verdict): void {
    const full: FaultFigures = {
      ...figures,
      accepted: v.accepted,
      delivered: v.delivered,
      expected: v.expected,
      lost: v.lost,
      duplicates: v.duplicates,
      codes: v.codes,
    };
    writeReport(figures.scenario, full);
    console.log(JSON.stringify({ ...full, rejected: v.rejected }));
  }

  async stop(): Promise<void> {
    this.driver?.close();
    await this.sys.stop();
    await this.cluster.stop();
  }
}
