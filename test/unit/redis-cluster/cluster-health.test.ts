import { describe, expect, it } from 'vitest';
import { assessClusterHealth, type NodeObservation } from '../../../runtime/redis-cluster/cluster-health.js';
import { parseClusterInfo } from '../../../runtime/redis-cluster/cluster-info.js';
import { parseClusterNodes } from '../../../runtime/redis-cluster/cluster-nodes.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const INFO_OK = 'cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\ncluster_known_nodes:2\r\ncluster_size:1\r\n';
const a = { host: '10.0.0.1', port: 7000 };
const b = { host: '10.0.0.2', port: 7000 };

function lines(myself: 'A' | 'B', opts: { slots?: string; bFlags?: string; extra?: string } = {}): string {
  return [
    `${A} 10.0.0.1:7000@17000 ${myself === 'A' ? 'myself,' : ''}master - 0 0 1 connected ${opts.slots ?? '0-16383'}`,
    `${B} 10.0.0.2:7000@17000 ${myself === 'B' ? 'myself,' : ''}${opts.bFlags ?? 'slave'} ${A} 0 0 1 connected`,
    ...(opts.extra ? [opts.extra] : []),
  ].join('\n');
}

function obs(addr: typeof a, info: string, nodes: string): NodeObservation {
  return { addr, info: parseClusterInfo(info), view: parseClusterNodes(nodes), error: null };
}

describe('assessClusterHealth', () => {
  it('is healthy when every node is ok, sees all slots and agrees', () => {
    const h = assessClusterHealth([obs(a, INFO_OK, lines('A')), obs(b, INFO_OK, lines('B'))], { knownNodes: 2, replicaOf: [{ replica: b, master: a }], minReplicasPerMaster: 1 });
    expect(h.problems).toEqual([]);
    expect(h.healthy).toBe(true);
    expect(h.slotMapSignature).toContain(A);
  });

  it.each([
    ['a node is unreachable', () => [obs(a, INFO_OK, lines('A')), { addr: b, info: null, view: null, error: 'ECONNREFUSED' }], {}, /10.0.0.2:7000: unreachable \(ECONNREFUSED\)/],
    ['a node reports cluster_state:fail', () => [obs(a, INFO_OK.replace('ok', 'fail'), lines('A')), obs(b, INFO_OK, lines('B'))], {}, /10.0.0.1:7000: cluster_state:fail/],
    ['slots are not served', () => [obs(a, INFO_OK, lines('A', { slots: '0-100' })), obs(b, INFO_OK, lines('B', { slots: '0-100' }))], {}, /16283 slots not served: 101-16383/],
    ['nodes disagree on the map', () => [obs(a, INFO_OK, lines('A')), obs(b, INFO_OK, lines('B', { slots: '0-16382', extra: `${'c'.repeat(40)} 10.0.0.3:7000@17000 master - 0 0 2 connected 16383` }))], {}, /disagree/],
    ['a node is seen failing', () => [obs(a, INFO_OK, lines('A', { bFlags: 'slave,fail?' })), obs(b, INFO_OK, lines('B'))], {}, /sees node bbbbbbbb .* as pfail/],
    ['a slot is open', () => [obs(a, INFO_OK, lines('A', { slots: `0-16383 [5->-${B}]` })), obs(b, INFO_OK, lines('B'))], {}, /open slots/],
    ['a node knows too few nodes', () => [obs(a, INFO_OK, lines('A')), obs(b, INFO_OK, lines('B'))], { knownNodes: 3 }, /knows 2 nodes, expected 3/],
    ['a replica follows nobody', () => [obs(a, INFO_OK, lines('A')), obs(b, INFO_OK, lines('B', { bFlags: 'master' }).replace(` ${A} 0 0 1`, ' - 0 0 1'))], { replicaOf: [{ replica: b, master: a }] }, /is master of nobody, expected replica of 10.0.0.1:7000/],
    ['another node has not heard yet that the replica follows its master', () => [obs(a, INFO_OK, lines('A', { bFlags: 'master' }).replace(` ${A} 0 0 1`, ' - 0 0 1')), obs(b, INFO_OK, lines('B'))], { replicaOf: [{ replica: b, master: a }] }, /10.0.0.1:7000: still sees 10.0.0.2:7000 as master, expected replica of 10.0.0.1:7000/],
    ['a master lacks replicas', () => [obs(a, INFO_OK, lines('A')), obs(b, INFO_OK, lines('B'))], { minReplicasPerMaster: 2 }, /has 1 replicas, expected at least 2/],
    ['a reply has a malformed line', () => [obs(a, INFO_OK, `${lines('A')}\nbroken line`), obs(b, INFO_OK, lines('B'))], {}, /malformed/],
    ['no node is given', () => [], {}, /no nodes/],
  ])('is unhealthy when %s', (_name, make, expect_, problem) => {
    const h = assessClusterHealth(make() as NodeObservation[], expect_);
    expect(h.healthy).toBe(false);
    expect(h.problems.join('\n')).toMatch(problem);
  });
});

describe('parseClusterInfo', () => {
  it('reads the fields the admin acts on', () => {
    const info = parseClusterInfo(INFO_OK + 'cluster_current_epoch:6\r\ncluster_my_epoch:2\r\nfuture_field:x\r\n');
    expect(info).toMatchObject({ state: 'ok', slotsAssigned: 16384, slotsOk: 16384, knownNodes: 2, size: 1, currentEpoch: 6, myEpoch: 2 });
    expect(info.fields.get('future_field')).toBe('x');
  });

  it.each([
    ['not text', 42, 'unknown'],
    ['an unknown state', 'cluster_state:sleepy\r\ncluster_slots_assigned:5\r\n', 'unknown'],
    ['negative numbers', 'cluster_state:ok\r\ncluster_slots_assigned:-1\r\n', 'ok'],
  ])('never throws on %s', (_name, reply, state) => {
    const info = parseClusterInfo(reply);
    expect(info.state).toBe(state);
    expect(info.slotsAssigned).toBe(_name === 'an unknown state' ? 5 : 0);
  });
});
