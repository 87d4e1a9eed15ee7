/**
 * Where each node goes in a new cluster: masters get an even split of the 16384 slots in the
 * order given; replicas are dealt to masters round-robin (every master gets ⌊R/M⌋ or ⌈R/M⌉),
 * and among the masters with the fewest replicas so far a replica prefers one in another
 * failure domain, then one whose replicas are not yet in its domain. Pure; throws before any
 * change is made when the plan itself is impossible.
 */
import { formatAddr, isPort, type Addr, type ClusterMember } from './redis-addr.js';
import { SLOT_COUNT, evenSlotRanges, type SlotRange } from './slot-ranges.js';

export interface PlannedMaster {
  addr: ClusterMember;
  slots: SlotRange[];
}

export interface PlannedReplica {
  addr: ClusterMember;
  master: Addr;
}

export interface ClusterPlan {
  masters: PlannedMaster[];
  replicas: PlannedReplica[];
}

export function domainOf(m: ClusterMember): string {
  return m.failureDomain ?? m.host;
}

export function planCluster(masters: readonly ClusterMember[], replicas: readonly ClusterMember[]): ClusterPlan {
  if (masters.length < 1 || masters.length > SLOT_COUNT) {
    throw new RangeError(`a cluster needs 1..${SLOT_COUNT} masters, got ${masters.length}`);
  }
  const seen = new Set<string>();
  for (const a of [...masters, ...replicas]) {
    if (typeof a.host !== 'string' || a.host === '' || !isPort(a.port)) {
      throw new RangeError(`node ${JSON.stringify(a)} needs a host and a port 1..65535`);
    }
    const key = formatAddr(a);
    if (seen.has(key)) throw new RangeError(`node ${key} is listed twice`);
    seen.add(key);
  }
  const ranges = evenSlotRanges(masters.length);
  const plannedMasters = masters.map((addr, i) => ({ addr, slots: [ranges[i] as SlotRange] }));
  const count = masters.map(() => 0);
  const replicaDomains = masters.map(() => new Set<string>());
  const plannedReplicas = replicas.map((addr, i) => {
    const domain = domainOf(addr);
    const fewest = Math.min(...count);
    let best = -1;
    let bestScore = Infinity;
    for (let k = 0; k < masters.length; k++) {
      const m = (i + k) % masters.length;
      if (count[m] !== fewest) continue;
      const score = (domainOf(masters[m] as ClusterMember) === domain ? 2 : 0) + (replicaDomains[m]?.has(domain) ? 1 : 0);
      if (score < bestScore) {
        best = m;
        bestScore = score;
      }
    }
    count[best] = (count[best] as number) + 1;
    replicaDomains[best]?.add(domain);
    const master = masters[best] as ClusterMember;
    return { addr, master: { host: master.host, port: master.port } };
  });
  return { masters: plannedMasters, replicas: plannedReplicas };
}
