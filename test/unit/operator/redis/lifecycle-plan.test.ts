import { describe, expect, it } from 'vitest';
import type { LifecycleOp } from '../../../../operator/redis/lifecycle-ops.js';
import { planStep } from '../../../../operator/redis/lifecycle-plan.js';
import { healthyCluster, idOf, input, picture, type FakeNode } from './lifecycle-fixture.js';

const LIMITS = { slotsPerStep: 64, maxMeetsPerStep: 256, maxOpenSlotFixesPerStep: 64 };

function plan(nodes: FakeNode[], masters = 3, replicasPerMaster = 1, statefulSetReplicas?: number) {
  return planStep(picture(nodes, masters * (1 + replicasPerMaster)), input(nodes, masters, replicasPerMaster, statefulSetReplicas), LIMITS);
}
const kinds = (ops: readonly LifecycleOp[]) => ops.map((o) => o.kind);
const of = <K extends LifecycleOp['kind']>(ops: readonly LifecycleOp[], kind: K) => ops.filter((o): o is Extract<LifecycleOp, { kind: K }> => o.kind === kind);
const fresh = (n: number): FakeNode[] => Array.from({ length: n }, (_, i) => ({ ordinal: i, id: 'abcdef0123456789'[i] as string, fresh: true }));

describe('planStep: bootstrap', () => {
  it('bootstraps when every pod is Ready, answers, and nothing is assigned anywhere', () => {
    const p = plan(fresh(6));
    expect(kinds(p.ops)).toEqual(['bootstrap']);
    const boot = of(p.ops, 'bootstrap')[0]!;
    expect(boot.plan.masters.map((m) => m.addr.host)).toEqual(['10.0.0.10', '10.0.0.11', '10.0.0.12']);
    expect(boot.plan.replicas.map((r) => [r.addr.host, r.master.host])).toEqual([
      ['10.0.0.13', '10.0.0.11'],
      ['10.0.0.14', '10.0.0.12'],
      ['10.0.0.15', '10.0.0.10'],
    ]);
  });

  it.each<[string, (nodes: FakeNode[]) => void, string, string]>([
    ['a pod is not Ready', (n) => (n[4]!.ready = false), 'progress', 'WaitingForPods'],
    ['a pod does not answer', (n) => (n[2]!.down = true), 'progress', 'WaitingForPods'],
    ['a pod is missing', (n) => n.pop(), 'progress', 'WaitingForPods'],
    ['a pod holds keys', (n) => (n[1]!.keys = 3), 'failed', 'NotEmpty'],
    ['a pod knows a node that is no pod', (n) => {
      n.push({ ordinal: null, id: '9', fresh: true });
      n[0]!.fresh = false;
      n[0]!.knows = ['a', '9'];
    }, 'failed', 'ForeignNodes'],
  ])('does not bootstrap when %s', (_name, change, level, reason) => {
    const nodes = fresh(6);
    change(nodes);
    const p = plan(nodes);
    expect(p.ops).toEqual([]);
    expect(p.problems).toContainEqual(expect.objectContaining({ level, reason }));
  });

  it('never bootstraps when one pod serves a slot, even if all others are fresh', () => {
    const nodes = fresh(6);
    nodes[3] = { ordinal: 3, id: 'd', role: 'master', slots: '42' };
    expect(kinds(plan(nodes).ops)).not.toContain('bootstrap');
  });
});

describe('planStep: a healthy cluster', () => {
  it('has nothing to do and no problem', () => {
    const p = plan(healthyCluster(3, 1));
    expect(p.ops).toEqual([]);
    expect(p.problems).toEqual([]);
    expect(p.statefulSetReplicas).toBe(6);
    expect(p.keepers.map((k) => k.pod.name)).toEqual(['redis-0', 'redis-1', 'redis-2']);
  });
});

describe('planStep: membership', () => {
  it('meets a pod at its new address on every node that knows it elsewhere', () => {
    const nodes = healthyCluster(3, 1);
    nodes[1]!.knownAt = '10.9.9.9:6379';
    const meets = of(plan(nodes).ops, 'meet');
    expect(meets.map((m) => m.at.pod).sort()).toEqual(['redis-0', 'redis-2', 'redis-3', 'redis-4', 'redis-5']);
    for (const m of meets) expect(m.target).toEqual({ host: '10.0.0.11', port: 6379, busPort: 16379 });
  });

  it('lets a new staying pod join (one MEET, by the first member), but never a fresh leaving one', () => {
    const nodes = [...healthyCluster(3, 1), { ordinal: 6, id: '6', fresh: true }, { ordinal: 7, id: '7', fresh: true }];
    const meets = of(plan(nodes, 4, 1, 8).ops, 'meet');
    expect(meets.map((m) => `${m.at.pod}→${m.target.host}`)).toEqual(['redis-0→10.0.0.16', 'redis-0→10.0.0.17']);
    expect(of(plan(nodes, 3, 1, 8).ops, 'meet')).toEqual([]);
  });

  it('does not merge a pod of another cluster', () => {
    const nodes = [...healthyCluster(3, 1), { ordinal: 6, id: '6', role: 'master' as const, slots: '0-10', knows: ['6', '7'] }, { ordinal: null, id: '7', knows: ['6', '7'] }];
    nodes.slice(0, 6).forEach((n) => (n.knows = 'abcdef'.split('')));
    const p = plan(nodes, 3, 1, 7);
    expect(of(p.ops, 'meet')).toEqual([]);
  });

  it('forgets a node that no pod is and that nothing points to, on every node that knows it', () => {
    const nodes = [...healthyCluster(3, 1), { ordinal: null, id: '9', role: 'master' as const, flaggedAs: ['fail'] }];
    const forgets = of(plan(nodes).ops, 'forget');
    expect(forgets).toHaveLength(1);
    expect(forgets[0]!.id).toBe(idOf('9'));
    expect(forgets[0]!.at).toHaveLength(6);
  });

  it.each<[string, (nodes: FakeNode[]) => void]>([
    ['a pod does not answer (it could be that node)', (n) => (n[5]!.down = true)],
    ['a replica still follows it', (n) => (n[5]!.master = '9')],
    ['it serves slots', (n) => (n[6]!.slots = '16383')],
  ])('does not forget a node that no pod is when %s', (_name, change) => {
    const nodes = [...healthyCluster(3, 1), { ordinal: null, id: '9', role: 'master' as const, flaggedAs: ['fail'] }];
    change(nodes);
    expect(of(plan(nodes).ops, 'forget').filter((f) => f.id === idOf('9'))).toEqual([]);
  });
});

describe('planStep: open slots', () => {
  const open = (a: string, d: string) => {
    const nodes = healthyCluster(3, 1);
    nodes[0]!.slots = `0-5461 ${a}`.trim();
    nodes[1]!.slots = `5462-10922 ${d}`.trim();
    return nodes;
  };
  it.each<[string, string, string, { type: string; slot: number; at?: string; from?: string; to?: string }]>([
    ['migrating and importing: finished', `[100->-${idOf('b')}]`, `[100-<-${idOf('a')}]`, { type: 'finish', slot: 100, from: 'redis-0', to: 'redis-1' }],
    ['importing only: finished', '', `[100-<-${idOf('a')}]`, { type: 'finish', slot: 100, from: 'redis-0', to: 'redis-1' }],
    ['migrating only: finished to the named master', `[100->-${idOf('b')}]`, '', { type: 'finish', slot: 100, from: 'redis-0', to: 'redis-1' }],
    ['migrating to a node that is gone: rolled back', `[100->-${idOf('9')}]`, '', { type: 'stable', slot: 100, at: 'redis-0' }],
    ['migrating mark on a node that does not own it: cleared', '', `[100->-${idOf('a')}]`, { type: 'stable', slot: 100, at: 'redis-1' }],
    ['importing mark on the owner: claimed', `[100-<-${idOf('b')}]`, '', { type: 'claim', slot: 100, at: 'redis-0' }],
  ])('%s', (_name, a, d, fix) => {
    const p = plan(open(a, d));
    const fixes = of(p.ops, 'fix-open-slot').map((o) => ({ type: o.fix.type, slot: o.fix.slot, ...('at' in o.fix ? { at: o.fix.at.pod } : {}), ...('from' in o.fix ? { from: o.fix.from.pod, to: o.fix.to.pod } : {}) }));
    expect(fixes).toEqual([fix]);
    expect(kinds(p.ops).filter((k) => k === 'migrate' || k === 'replicate' || k === 'failover')).toEqual([]);
  });

  it('waits while the owner of a half-moved slot does not answer', () => {
    const nodes = open('', `[100-<-${idOf('a')}]`);
    nodes[0]!.down = true;
    nodes[0]!.flaggedAs = ['fail'];
    const p = plan(nodes);
    expect(of(p.ops, 'fix-open-slot')).toEqual([]);
    expect(p.problems).toContainEqual(expect.objectContaining({ reason: 'OpenSlotOwnerDown' }));
  });
});

describe('planStep: roles', () => {
  it('re-attaches a replica whose master is gone to the master that lacks a replica', () => {
    const nodes = healthyCluster(3, 1);
    nodes[3]!.master = '9'; // redis-3 followed node 9, which no longer exists
    const reps = of(plan(nodes).ops, 'replicate');
    expect(reps.map((r) => [r.at.pod, r.masterId])).toEqual([['redis-3', idOf('b')]]);
  });

  it('attaches a pod that came back empty (an empty master, no keeper) as replica', () => {
    const nodes = healthyCluster(3, 1);
    nodes[5] = { ordinal: 5, id: '8', role: 'master' }; // was the replica of redis-0 (node f), came back as node 8
    const reps = of(plan(nodes).ops, 'replicate');
    expect(reps.map((r) => [r.at.pod, r.masterId])).toEqual([['redis-5', idOf('a')]]);
  });

  it('moves a replica to spare from a master with two to a master with none', () => {
    const nodes = healthyCluster(3, 1);
    nodes[5]!.master = 'b'; // redis-1 now has redis-3 and redis-5, redis-0 none
    const reps = of(plan(nodes).ops, 'replicate');
    expect(reps).toHaveLength(1);
    expect(reps[0]!.masterId).toBe(idOf('a'));
  });

  it('reports Degraded (MasterDown) while a master is down and its replica can take over, and does not move slots', () => {
    const nodes = healthyCluster(3, 1);
    nodes[0]!.down = true;
    nodes[0]!.flaggedAs = ['fail'];
    const p = plan(nodes);
    expect(p.problems).toContainEqual(expect.objectContaining({ level: 'degraded', reason: 'MasterDown' }));
    expect(kinds(p.ops)).toEqual([]);
  });

  it('reports Degraded, not Failed, in the moment its replica has promoted itself and the others have not heard yet', () => {
    const nodes = healthyCluster(3, 1); // redis-5 (f) follows redis-0 (a)
    nodes[0]!.down = true;
    nodes[0]!.flaggedAs = ['fail'];
    nodes[5] = { ...nodes[5]!, role: 'master', master: undefined, slots: '0-5461', seenAs: { role: 'replica', master: 'a' } };
    const p = plan(nodes);
    expect(p.problems).not.toContainEqual(expect.objectContaining({ level: 'failed' }));
    expect(p.problems).toContainEqual(expect.objectContaining({ level: 'degraded', reason: 'MasterDown' }));
  });

  it('reports Failed (SlotsDown) when a master is down with no replica to take over', () => {
    const nodes = healthyCluster(3, 0);
    nodes[0]!.down = true;
    nodes[0]!.flaggedAs = ['fail'];
    expect(plan(nodes, 3, 0).problems).toContainEqual(expect.objectContaining({ level: 'failed', reason: 'SlotsDown' }));
  });
});

describe('planStep: scaling', () => {
  it('scale-out: the new pods with the lowest ordinals get slots, one bounded move per step, the others become their replicas', () => {
    const nodes = [...healthyCluster(3, 1), ...[6, 7, 8, 9].map((o) => ({ ordinal: o, id: `${o}`, role: 'master' as const }))];
    const p = plan(nodes, 5, 1, 10);
    expect(p.keepers.map((k) => k.pod.name)).toEqual(['redis-0', 'redis-1', 'redis-2', 'redis-6', 'redis-7']);
    const [move] = of(p.ops, 'migrate');
    expect(move).toMatchObject({ from: { pod: 'redis-0' }, to: { pod: 'redis-6' } });
    expect(move!.slots).toHaveLength(64);
    expect(of(p.ops, 'replicate').map((r) => [r.at.pod, r.masterId]).sort()).toEqual([
      ['redis-8', idOf('6')],
      ['redis-9', idOf('7')],
    ]);
    expect(p.statefulSetReplicas).toBe(10);
  });

  it('scale-out: no key moves while a node (here one that just joined) reports cluster_state:fail', () => {
    const nodes = [...healthyCluster(3, 1), ...[6, 7, 8, 9].map((o) => ({ ordinal: o, id: `${o}`, role: 'master' as const, state: o === 6 ? ('fail' as const) : ('ok' as const) }))];
    const p = plan(nodes, 5, 1, 10);
    expect(kinds(p.ops)).not.toContain('migrate');
    // The new node serves nothing yet: progress, not a fault (an established one would be Degraded).
    expect(p.problems).toContainEqual(expect.objectContaining({ level: 'progress', reason: 'Joining' }));
    expect(p.problems).not.toContainEqual(expect.objectContaining({ level: 'degraded' }));
  });

  it('an established master reporting cluster_state:fail is Degraded', () => {
    const nodes = healthyCluster(3, 1);
    nodes[1]!.state = 'fail';
    expect(plan(nodes).problems).toContainEqual(expect.objectContaining({ level: 'degraded', reason: 'ClusterStateFail' }));
  });

  it('a new empty master that has not learned the whole slot map is joining; an established node that disagrees is Degraded', () => {
    // Node 6 joined (everyone knows it) but knows only a and b so far: its slot map lacks c's slots.
    const joined = [...healthyCluster(3, 1), { ordinal: 6, id: '6', role: 'master' as const, knows: ['6', 'a', 'b'] }];
    const p = plan(joined, 4, 1, 8);
    expect(p.problems).toContainEqual(expect.objectContaining({ level: 'progress', reason: 'Joining' }));
    expect(p.problems).not.toContainEqual(expect.objectContaining({ reason: 'SlotMapDisagreement' }));
    const split = healthyCluster(3, 1);
    split[3]!.knows = ['a', 'b', 'd', 'e', 'f'];
    expect(plan(split).problems).toContainEqual(expect.objectContaining({ level: 'degraded', reason: 'SlotMapDisagreement' }));
  });

  it('new pods that met only each other are joining; a pod that knows a node no pod has is foreign', () => {
    const newcomers = (): FakeNode[] => [...healthyCluster(3, 1), { ordinal: 6, id: '6', role: 'master', knows: ['6', '7'] }, { ordinal: 7, id: '7', role: 'master', knows: ['6', '7'] }];
    const joining = plan(newcomers(), 4, 1, 8);
    expect(joining.problems).not.toContainEqual(expect.objectContaining({ reason: 'ForeignPod' }));
    const foreign = newcomers();
    foreign.push({ ordinal: null, id: '9', fresh: true });
    foreign[6]!.knows = ['6', '7', '9'];
    expect(plan(foreign, 4, 1, 8).problems).toContainEqual(expect.objectContaining({ level: 'degraded', reason: 'ForeignPod' }));
  });

  // The scale-out race seen in the e2e test: new pods that met each other through gossip while one
  // of them did not answer in time, or while a handshake (a random node id at a pod's address)
  // was in flight, were reported as belonging to another cluster.
  it.each<[string, (nodes: FakeNode[]) => void]>([
    ['the other new pod does not answer this step', (n) => (n[7]!.down = true)],
    ['it shakes hands with the other new pod (a random id at that pod\'s address)', (n) => {
      n.push({ ordinal: null, id: '9', fresh: true, knownAt: '10.0.0.17:6379', flaggedAs: ['handshake'] });
      n[6]!.knows = ['6', '9'];
    }],
    ['it shakes hands with the member that met it (a random id at that member\'s address)', (n) => {
      n.push({ ordinal: null, id: '9', fresh: true, knownAt: '10.0.0.10:6379', flaggedAs: ['handshake'] });
      n[6]!.knows = ['6', '7', '9'];
    }],
  ])('a new pod that knows only new pods of this StatefulSet is joining, never foreign, when %s', (_name, change) => {
    const nodes: FakeNode[] = [...healthyCluster(3, 1), { ordinal: 6, id: '6', role: 'master', knows: ['6', '7'] }, { ordinal: 7, id: '7', role: 'master', knows: ['6', '7'] }];
    change(nodes);
    const p = plan(nodes, 4, 1, 8);
    expect(p.problems).not.toContainEqual(expect.objectContaining({ reason: 'ForeignPod' }));
    expect(p.problems).toContainEqual(expect.objectContaining({ level: 'progress', reason: 'Joining', message: 'redis-6 is joining the cluster' }));
    expect(p.problems).not.toContainEqual(expect.objectContaining({ level: 'degraded' }));
  });

  it('a placed pod that does not answer is Degraded; a new one that was met but is slow to answer is awaited', () => {
    const placed = healthyCluster(3, 1);
    placed[4]!.down = true;
    expect(plan(placed).problems).toContainEqual(expect.objectContaining({ level: 'degraded', reason: 'PodUnreachable' }));
    const met: FakeNode[] = [...healthyCluster(3, 1), { ordinal: 6, id: '6', role: 'master' }, { ordinal: 7, id: '7', role: 'master', down: true }];
    const p = plan(met, 4, 1, 8);
    expect(p.problems).toContainEqual(expect.objectContaining({ level: 'progress', reason: 'WaitingForNewPods' }));
    expect(p.problems).not.toContainEqual(expect.objectContaining({ level: 'degraded' }));
  });

  it('a new pod that knows a node at an address no pod has is foreign, even while another new pod does not answer', () => {
    const nodes: FakeNode[] = [...healthyCluster(3, 1), { ordinal: 6, id: '6', role: 'master', knows: ['6', '7', '9'] }, { ordinal: 7, id: '7', role: 'master', down: true }];
    nodes.push({ ordinal: null, id: '9', role: 'master', fresh: true });
    const p = plan(nodes, 4, 1, 8);
    expect(p.problems).toContainEqual(expect.objectContaining({ level: 'degraded', reason: 'ForeignPod', message: expect.stringContaining('redis-6') }));
  });

  it('scale-in: the highest masters are drained, the StatefulSet keeps its pods meanwhile', () => {
    const nodes = healthyCluster(5, 1);
    const p = plan(nodes, 3, 1, 10);
    expect(p.keepers.map((k) => k.pod.name)).toEqual(['redis-0', 'redis-1', 'redis-2']);
    const [move] = of(p.ops, 'migrate');
    expect(['redis-3', 'redis-4']).toContain(move!.from.pod);
    expect(p.statefulSetReplicas).toBe(10);
    expect(kinds(p.ops)).not.toContain('reset');
  });

  it('scale-in: a leaving master with a staying replica fails over to it', () => {
    const nodes = healthyCluster(3, 1); // replicas 3→b, 4→c, 5→a
    nodes.push({ ordinal: 6, id: '6', role: 'master', slots: '16000-16383' });
    nodes[2]!.slots = '10923-15999';
    nodes[5]!.master = '6';
    const p = plan(nodes, 3, 1, 7);
    expect(of(p.ops, 'failover').map((f) => f.at.pod)).toEqual(['redis-5']);
    expect(kinds(p.ops)).not.toContain('migrate');
  });

  it('scale-in, drained: leaving nodes are first forgotten by the staying ones, then reset, then the StatefulSet may shrink', () => {
    const staying = healthyCluster(3, 1);
    const leaving: FakeNode[] = [6, 7].map((o) => ({ ordinal: o, id: `${o}`, role: 'replica', master: 'a' }));
    const first = plan([...staying, ...leaving], 3, 1, 8);
    expect(of(first.ops, 'forget').map((f) => f.id).sort()).toEqual([idOf('6'), idOf('7')]);
    expect(kinds(first.ops)).not.toContain('reset');
    expect(first.statefulSetReplicas).toBe(8);

    staying.forEach((n) => (n.knows = 'abcdef'.split('')));
    const second = plan([...staying, ...leaving], 3, 1, 8);
    expect(of(second.ops, 'reset').map((r) => r.at.pod).sort()).toEqual(['redis-6', 'redis-7']);
    expect(second.statefulSetReplicas).toBe(8);

    leaving.forEach((n) => (n.fresh = true));
    const third = plan([...staying, ...leaving], 3, 1, 8);
    expect(third.ops).toEqual([]);
    expect(third.statefulSetReplicas).toBe(6);
  });

  it('scale-in: waits for a leaving pod that does not answer while the cluster still knows a node at its address', () => {
    const staying = healthyCluster(3, 1);
    const gone: FakeNode = { ordinal: 6, id: '6', role: 'replica', master: 'a', down: true };
    expect(plan([...staying, gone], 3, 1, 7).statefulSetReplicas).toBe(7);
    staying.forEach((n) => (n.knows = 'abcdef'.split('')));
    expect(plan([...staying, gone], 3, 1, 7).statefulSetReplicas).toBe(6);
  });
});
