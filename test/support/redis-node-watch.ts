/**
 * Watches every node of a Redis Cluster while a test does something to it: samples each node's
 * `used_memory` (INFO memory), its role (ROLE) and its view of the cluster (`cluster_state` of
 * CLUSTER INFO) until stopped, and reports per node the growth of used_memory over its value at
 * start, whether its role ever changed, and whether any sample saw a cluster state other than ok.
 */
import { Redis } from 'ioredis';
import { infoField } from '../../runtime/redis/redis-info.js';

export interface NodeWatchReport {
  node: string;
  baselineBytes: number;
  maxBytes: number;
  growthBytes: number;
  /** Largest memory of the Lua VM seen (used_memory_vm_eval: not part of used_memory, but of the process). */
  maxLuaBytes: number;
  roles: string[];
  states: string[];
  samples: number;
}

export class RedisNodeWatch {
  private readonly clients: Redis[];
  private readonly reports: NodeWatchReport[];
  private running = false;
  private loop: Promise<void> | null = null;
  /** Called after every round of samples (e.g. to stop an attack that went over a bound). */
  onSample: (reports: readonly NodeWatchReport[]) => void = () => undefined;

  constructor(
    seeds: readonly string[],
    password?: string,
  ) {
    this.clients = seeds.map((s) => {
      const [host, port] = s.split(':');
      return new Redis({ host, port: Number(port), password, lazyConnect: false, maxRetriesPerRequest: 1 });
    });
    this.reports = seeds.map((node) => ({ node, baselineBytes: 0, maxBytes: 0, growthBytes: 0, maxLuaBytes: 0, roles: [], states: [], samples: 0 }));
  }

  /** Take the baseline (one sample per node) and start sampling every `intervalMs`. */
  async start(intervalMs = 50): Promise<void> {
    const first = await Promise.all(this.clients.map((c) => sample(c)));
    first.forEach((s, i) => {
      const r = this.reports[i] as NodeWatchReport;
      r.baselineBytes = s.usedMemory;
      this.record(r, s);
    });
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const round = await Promise.all(this.clients.map((c) => sample(c).catch(() => null)));
        round.forEach((s, i) => {
          const r = this.reports[i] as NodeWatchReport;
          if (s) this.record(r, s);
          else if (!r.states.includes('unreachable')) r.states.push('unreachable');
        });
        this.onSample(this.reports);
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
  }

  /** Stop sampling; one final sample per node; the reports. */
  async stop(): Promise<NodeWatchReport[]> {
    this.running = false;
    await this.loop;
    const last = await Promise.all(this.clients.map((c) => sample(c)));
    last.forEach((s, i) => this.record(this.reports[i] as NodeWatchReport, s));
    return this.reports;
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop?.catch(() => undefined);
    await Promise.all(this.clients.map((c) => c.quit().catch(() => undefined)));
  }

  private record(r: NodeWatchReport, s: Sample): void {
    r.samples++;
    r.maxBytes = Math.max(r.maxBytes, s.usedMemory);
    r.growthBytes = r.maxBytes - r.baselineBytes;
    r.maxLuaBytes = Math.max(r.maxLuaBytes, s.luaBytes);
    if (!r.roles.includes(s.role)) r.roles.push(s.role);
    if (!r.states.includes(s.clusterState)) r.states.push(s.clusterState);
  }
}

interface Sample {
  usedMemory: number;
  luaBytes: number;
  role: string;
  clusterState: string;
}

async function sample(c: Redis): Promise<Sample> {
  const [memory, role, info] = await Promise.all([c.info('memory'), c.call('ROLE') as Promise<unknown[]>, c.cluster('INFO') as Promise<string>]);
  return {
    usedMemory: Number(field(memory, 'used_memory')),
    luaBytes: Number(field(memory, 'used_memory_vm_eval')),
    role: String(role[0]),
    clusterState: field(info, 'cluster_state'),
  };
}

function field(text: string, name: string): string {
  const v = infoField(text, name);
  if (v === null) throw new Error(`no ${name} in INFO reply`);
  return v;
}
