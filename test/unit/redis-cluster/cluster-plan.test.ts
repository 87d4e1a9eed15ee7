import { describe, expect, it } from 'vitest';
import { planCluster } from '../../../runtime/redis-cluster/cluster-plan.js';
import type { ClusterMember } from '../../../runtime/redis-cluster/redis-addr.js';

const local = (n: number, base = 7000): ClusterMember[] => Array.from({ length: n }, (_, i) => ({ host: '127.0.0.1', port: base + i }));
const key = (a: { host: string; port: number }) => `${a.host}:${a.port}`;

describe('planCluster', () => {
  it('gives masters an even split in order and deals replicas round-robin', () => {
    const plan = planCluster(local(3), local(6, 8000));
    expect(plan.masters.map((m) => m.slots)).toEqual([[{ start: 0, end: 5461 }], [{ start: 5462, end: 10922 }], [{ start: 10923, end: 16383 }]]);
    expect(plan.replicas.map((r) => r.master.port)).toEqual([7000, 7001, 7002, 7000, 7001, 7002]);
  });

  it('keeps replicas balanced when they do not divide evenly', () => {
    const plan = planCluster(local(3), local(4, 8000));
    const counts = new Map<string, number>();
    for (const r of plan.replicas) counts.set(key(r.master), (counts.get(key(r.master)) ?? 0) + 1);
    expect([...counts.values()].sort()).toEqual([1, 1, 2]);
  });

  it('puts each replica in another failure domain than its master where possible', () => {
    const masters: ClusterMember[] = [
      { host: '10.0.0.1', port: 6379, failureDomain: 'zone-a' },
      { host: '10.0.0.2', port: 6379, failureDomain: 'zone-b' },
      { host: '10.0.0.3', port: 6379, failureDomain: 'zone-c' },
    ];
    // Dealt naively, replica i would follow master i: all in the same zone.
    const replicas: ClusterMember[] = [
      { host: '10.0.1.1', port: 6379, failureDomain: 'zone-a' },
      { host: '10.0.1.2', port: 6379, failureDomain: 'zone-b' },
      { host: '10.0.1.3', port: 6379, failureDomain: 'zone-c' },
    ];
    const plan = planCluster(masters, replicas);
    const zoneOf = new Map(masters.map((m) => [key(m), m.failureDomain]));
    for (const r of plan.replicas) expect(zoneOf.get(key(r.master))).not.toBe(r.addr.failureDomain);
    expect(new Set(plan.replicas.map((r) => key(r.master))).size).toBe(3);
  });

  it('uses the host as failure domain by default', () => {
    const plan = planCluster([{ host: 'h1', port: 1 }, { host: 'h2', port: 1 }], [{ host: 'h1', port: 2 }, { host: 'h2', port: 2 }]);
    for (const r of plan.replicas) expect(r.master.host).not.toBe(r.addr.host);
  });

  it.each([
    ['no masters', [], []],
    ['a duplicate node', local(2), [{ host: '127.0.0.1', port: 7001 }]],
    ['port 0', [{ host: '127.0.0.1', port: 0 }], []],
    ['port 65536', [{ host: '127.0.0.1', port: 65536 }], []],
    ['an empty host', [{ host: '', port: 7000 }], []],
  ])('rejects %s', (_name, masters, replicas) => {
    expect(() => planCluster(masters as ClusterMember[], replicas as ClusterMember[])).toThrow(RangeError);
  });
});
