import { describe, expect, it } from 'vitest';
import { parseClusterNodes } from '../../../runtime/redis-cluster/cluster-nodes.js';
import { slotMapOf } from '../../../runtime/redis-cluster/slot-map.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const R = 'c'.repeat(40);
const nodes = (...lines: string[]) => parseClusterNodes(lines.join('\n')).nodes;

describe('slotMapOf', () => {
  it('sees full coverage and one owner per slot', () => {
    const map = slotMapOf(nodes(`${A} 10.0.0.1:7000@17000 master - 0 0 1 connected 0-8191`, `${B} 10.0.0.2:7000@17000 master - 0 0 2 connected 8192-16383`, `${R} 10.0.0.3:7000@17000 slave ${A} 0 0 1 connected`));
    expect(map.covered).toBe(16384);
    expect(map.uncovered).toEqual([]);
    expect(map.conflicting).toEqual([]);
    expect(map.owners.get(A)).toEqual([{ start: 0, end: 8191 }]);
    expect(map.owners.has(R)).toBe(false);
  });

  it('reports uncovered slots', () => {
    const map = slotMapOf(nodes(`${A} 10.0.0.1:7000@17000 master - 0 0 1 connected 0-100 200-16383`));
    expect(map.covered).toBe(16384 - 99);
    expect(map.uncovered).toEqual([{ start: 101, end: 199 }]);
  });

  it('reports slots claimed by two nodes and counts them as not covered', () => {
    const map = slotMapOf(nodes(`${A} 10.0.0.1:7000@17000 master - 0 0 1 connected 0-16383`, `${B} 10.0.0.2:7000@17000 master - 0 0 2 connected 5-9`));
    expect(map.conflicting).toEqual([{ start: 5, end: 9 }]);
    expect(map.covered).toBe(16384 - 5);
  });

  it('gives equal signatures to the same map listed in another order with other flags, and different ones otherwise', () => {
    const a = slotMapOf(nodes(`${A} 10.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-8191`, `${B} 10.0.0.2:7000@17000 master - 0 0 2 connected 8192-16383`));
    const b = slotMapOf(nodes(`${B} 10.0.0.2:7000@17000 myself,master - 5 6 2 connected 8192-10000 10001-16383`, `${A} 10.0.0.1:7000@17000 master,fail? - 0 0 1 connected 0-8191`));
    const c = slotMapOf(nodes(`${A} 10.0.0.1:7000@17000 master - 0 0 1 connected 0-8192`, `${B} 10.0.0.2:7000@17000 master - 0 0 2 connected 8193-16383`));
    expect(a.signature).toBe(b.signature);
    expect(c.signature).not.toBe(a.signature);
  });
});
