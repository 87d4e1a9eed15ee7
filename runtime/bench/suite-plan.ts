/**
 * The workloads of `imgroup bench --suite`, as options of single runs: pure planning, no I/O.
 * Each is the command-line workload it names, scaled by `--suite-scale` (groups, or members of
 * the one group, messages and idle connections; never below a small floor, so a scaled suite
 * still measures something):
 *
 *   small-groups   --groups 1000 --group-size 20 --online 0.5 --senders 1 --window 1 --messages 10000 --warmup 1000
 *   largest-group  --groups 1 --group-size 10000 --online 0.3 --messages 600
 *   login-storm    --login-storm --groups 250 --group-size 21 --senders 1 --storm-backlog 200  (5,000 storm members)
 *   group-1000-max      --group-size 1000 --online 0.5 --messages 5000
 *   group-1000-half     the same at half the messages/s group-1000-max reached (open loop, ~10 s)
 *   group-1000-quarter  the same at a quarter of it
 *   idle           --idle 10000
 *
 * Many small groups send with one sender per group and a window of 1: 1,000 messages in flight,
 * spread over every group (ten senders per group with a window of 8 would put 80,000 in flight at
 * once, a burst no client population makes, and measure the queues' overflow instead). The
 * warm-up sends one message to every group, so the measured phase starts with every group's
 * members and presence cached, as on a server that has been running.
 */
import type { BenchOptions } from './bench-options.js';

export type SuiteWorkloadName = 'small-groups' | 'largest-group' | 'login-storm' | 'group-1000-max' | 'group-1000-half' | 'group-1000-quarter' | 'idle';

export interface SuiteWorkload {
  name: SuiteWorkloadName;
  kind: 'messages' | 'login-storm' | 'idle';
  /** The options of this run (the suite's own cluster and output flags kept). */
  options: BenchOptions;
  /** Run at this fraction of the messages/s `group-1000-max` reached (its `rate` is set when that is known). */
  rateOfMax?: number;
  /** Measure the logic nodes' heap before and after (the session cache). */
  measureLogicHeap?: boolean;
}

/** Seconds an open-loop run at a fraction of the maximum rate lasts (before scaling). */
export const RATE_RUN_SECONDS = 10;

/** `n × scale`, rounded, at least `floor`. */
export function scaled(n: number, scale: number, floor: number): number {
  return Math.max(floor, Math.round(n * scale));
}

export function suiteWorkloads(o: BenchOptions): SuiteWorkload[] {
  const s = o.suiteScale;
  const base: BenchOptions = { ...o, suite: false, loginStorm: false, idle: 0, compareCache: false, baseline: false, rounds: 1, rate: 0, window: 8 };
  const smallGroups = scaled(1000, s, 2);
  const largest = scaled(10_000, s, 20);
  const stormGroups = scaled(250, s, 2);
  const group1000 = scaled(1000, s, 20);
  const group1000Messages = scaled(5000, s, 100);
  const group1000Workload = { groups: 1, groupSize: group1000, online: 0.5, senders: 10, warmup: 20 };
  return [
    {
      name: 'small-groups',
      kind: 'messages',
      options: { ...base, groups: smallGroups, groupSize: 20, online: 0.5, senders: 1, window: 1, messages: smallGroups * 10, warmup: smallGroups },
      measureLogicHeap: true,
    },
    { name: 'largest-group', kind: 'messages', options: { ...base, groups: 1, groupSize: largest, online: 0.3, senders: 10, messages: scaled(600, s, 30), warmup: 20 } },
    { name: 'login-storm', kind: 'login-storm', options: { ...base, loginStorm: true, groups: stormGroups, groupSize: 21, senders: 1, stormBacklog: 200 } },
    { name: 'group-1000-max', kind: 'messages', options: { ...base, ...group1000Workload, messages: group1000Messages } },
    { name: 'group-1000-half', kind: 'messages', options: { ...base, ...group1000Workload, messages: group1000Messages }, rateOfMax: 0.5 },
    { name: 'group-1000-quarter', kind: 'messages', options: { ...base, ...group1000Workload, messages: group1000Messages }, rateOfMax: 0.25 },
    { name: 'idle', kind: 'idle', options: { ...base, idle: scaled(10_000, s, 50) } },
  ];
}

/**
 * The options of a run at `fraction` of `maxMessagesPerSec`: open loop at that rate, with as many
 * messages as RATE_RUN_SECONDS × scale of it (at least 5 per sender).
 */
export function atFractionOfMax(w: SuiteWorkload, maxMessagesPerSec: number): BenchOptions {
  const fraction = w.rateOfMax ?? 1;
  const rate = Math.max(1, Math.round(maxMessagesPerSec * fraction));
  const o = w.options;
  return { ...o, rate, messages: Math.max(o.senders * o.groups * 5, Math.round(rate * RATE_RUN_SECONDS * o.suiteScale)) };
}
