import { describe, expect, it } from 'vitest';
import { resolveBenchOptions } from '../../../runtime/bench/bench-options.js';
import { atFractionOfMax, scaled, suiteWorkloads } from '../../../runtime/bench/suite-plan.js';

describe('the workloads of --suite', () => {
  it('are the issue’s workloads at full scale, with the cluster flags of the command line', () => {
    const w = suiteWorkloads(resolveBenchOptions(['--suite', '--gates', '3', '--workers', '4'], {}));
    expect(w.map((x) => x.name)).toEqual(['small-groups', 'largest-group', 'login-storm', 'group-1000-max', 'group-1000-half', 'group-1000-quarter', 'idle']);
    const by = Object.fromEntries(w.map((x) => [x.name, x]));
    expect(by['small-groups']?.options).toMatchObject({ groups: 1000, groupSize: 20, online: 0.5, messages: 10_000, warmup: 1000, senders: 1, window: 1, rate: 0 });
    expect(by['small-groups']?.measureLogicHeap).toBe(true);
    expect(by['largest-group']?.options).toMatchObject({ groups: 1, groupSize: 10_000, online: 0.3 });
    // 250 groups of 20 offline members plus one sender each: 5,000 members storm in.
    expect(by['login-storm']).toMatchObject({ kind: 'login-storm', options: { loginStorm: true, groups: 250, groupSize: 21, senders: 1, stormBacklog: 200 } });
    expect(by['group-1000-max']?.options).toMatchObject({ groups: 1, groupSize: 1000, online: 0.5, rate: 0 });
    expect(by['group-1000-half']?.rateOfMax).toBe(0.5);
    expect(by['group-1000-quarter']?.rateOfMax).toBe(0.25);
    expect(by.idle).toMatchObject({ kind: 'idle', options: { idle: 10_000 } });
    for (const x of w) {
      expect(x.options).toMatchObject({ suite: false, gates: 3, workers: 4 });
      expect(x.options.loginStorm).toBe(x.kind === 'login-storm');
    }
  });

  it('scale down with --suite-scale, never below a floor that still measures something', () => {
    const by = Object.fromEntries(suiteWorkloads(resolveBenchOptions(['--suite', '--suite-scale', '0.05'], {})).map((x) => [x.name, x.options]));
    expect(by['small-groups']).toMatchObject({ groups: 50, groupSize: 20, messages: 500, warmup: 50 });
    expect(by['largest-group']).toMatchObject({ groupSize: 500, messages: 30 });
    expect(by['login-storm']).toMatchObject({ groups: 13, groupSize: 21, stormBacklog: 200 });
    expect(by['group-1000-max']).toMatchObject({ groupSize: 50, messages: 250 });
    expect(by.idle).toMatchObject({ idle: 500 });
    expect(scaled(1000, 0.0001, 2)).toBe(2);
  });

  it('run the fractions of the maximum open loop, for about ten seconds at full scale', () => {
    const full = suiteWorkloads(resolveBenchOptions(['--suite'], {})).find((x) => x.name === 'group-1000-half');
    expect(atFractionOfMax(full!, 561)).toMatchObject({ rate: 281, messages: 2810 });
    const small = suiteWorkloads(resolveBenchOptions(['--suite', '--suite-scale', '0.1'], {})).find((x) => x.name === 'group-1000-quarter');
    // At least five messages per sender.
    expect(atFractionOfMax(small!, 40)).toMatchObject({ rate: 10, messages: 50 });
  });
});
