/**
 * Faults of the network, through `TcpProxy` on loopback: one gate's connections to every Redis node
 * cut and later restored, and the internal links between the gates and a logic node gone silent
 * without closing. Each fault sets up its proxies before the bed starts (`prepare`), since the
 * processes must be routed through them from the start.
 */
import { fileURLToPath } from 'node:url';
import { eventually } from '../../support/eventually.js';
import { TcpProxy } from '../../support/tcp-proxy.js';
import type { TestRedisCluster } from '../../support/redis-cluster.js';
import type { LogicHandle } from '../../support/system.js';
import type { BedOptions } from '../support/fault-bed.js';
import type { Fault } from './fault.js';
import { clientsOpen, linksWhole } from './process-faults.js';

const REDIRECT_PRELOAD = fileURLToPath(new URL('../support/redis-redirect.cjs', import.meta.url));

export interface NetworkFault extends Fault {
  /** Bed options that route the affected process through the proxies. */
  bedOptions: BedOptions;
  /** Close the proxies (after the bed stopped). */
  close(): Promise<void>;
}

/** Gate `gate`'s connections to Redis cut for `cutMs`, then allowed again. */
export function cutGateRedis(gate: number, cutMs: number): NetworkFault {
  const proxies: TcpProxy[] = [];
  let restoreAt = 0;
  const gateEnv = async (i: number, cluster: TestRedisCluster): Promise<Record<string, string>> => {
    if (i !== gate) return {};
    const pairs: string[] = [];
    for (const n of cluster.nodes) {
      const p = new TcpProxy({ host: n.addr.host, port: n.addr.port });
      await p.start();
      proxies.push(p);
      pairs.push(`${n.addr.port}=${p.port}`);
    }
    return { NODE_OPTIONS: `--require ${REDIRECT_PRELOAD}`, IMGROUP_FAULTS_REDIS_REDIRECT: pairs.join(',') };
  };
  return {
    name: 'gate-redis-cut',
    injected: `gate-${gate}'s Redis connections cut for ${cutMs / 1000} s, then restored`,
    bedOptions: { gateEnv },
    async inject() {
      if (proxies.length === 0 || proxies.every((p) => p.accepted === 0)) throw new Error(`gate-${gate} does not reach Redis through the proxies`);
      for (const p of proxies) p.cut();
      restoreAt = Date.now() + cutMs;
    },
    async heal(bed) {
      // The cut's length is the fault itself, not a wait for a state.
      const left = restoreAt - Date.now();
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      for (const p of proxies) p.restore();
      await clientsOpen(bed);
    },
    async close() {
      await Promise.all(proxies.map((p) => p.close()));
    },
  };
}

/** The internal links of every gate to logic node `logic` go silent: bytes held, nothing closed. */
export function silenceLogicLink(logic: number): NetworkFault {
  let proxy: TcpProxy | null = null;
  let acceptedBefore = 0;
  const membership = async (nodes: readonly LogicHandle[]) => {
    const target = nodes[logic]!;
    proxy = new TcpProxy({ host: '127.0.0.1', port: target.port });
    await proxy.start();
    return nodes.map((l) => (l === target ? { name: l.name, internalUrl: `ws://127.0.0.1:${proxy!.port}` } : l));
  };
  return {
    name: 'logic-link-silent',
    injected: `every gate's link to logic-${logic} silent (held, not closed)`,
    bedOptions: { membership },
    async inject() {
      acceptedBefore = proxy?.accepted ?? 0;
      const n = proxy?.stall() ?? 0;
      if (n === 0) throw new Error(`no link to logic-${logic} went through the proxy`);
    },
    async heal(bed) {
      // The gates notice the silence (unanswered link pings), drop the links and open new ones
      // through the proxy, which forward again: wait for those, then for every link to be up.
      const gates = bed.sys.gates.length;
      await eventually(`every gate opened a new link to logic-${logic}`, () => (proxy?.accepted ?? 0) >= acceptedBefore + gates, { timeoutMs: 60_000 });
      await linksWhole(bed);
    },
    async close() {
      await proxy?.close();
    },
  };
}
