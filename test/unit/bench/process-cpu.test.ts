import { describe, expect, it } from 'vitest';
import type { MetricsSnapshot } from '../../../runtime/bench/metrics-scrape.js';
import { cpuPerDeliveries, cpuSpent, cpuUsageSeconds, machineBusy, machineCpu, metricsCpu, processKindOf, redisInfoCpuSeconds } from '../../../runtime/bench/process-cpu.js';
import { parsePrometheusText } from '../../../runtime/ops/prom-text.js';

const snap = (...texts: string[]): MetricsSnapshot => ({ perTarget: texts.map(parsePrometheusText) });
const gate = (cpu: number) => `imgroup_gate_connections 5\nprocess_cpu_seconds_total ${cpu}`;
const logic = (cpu: number) => `imgroup_logic_messages_total 3\nimgroup_redis_commands_total{command="get"} 1\nprocess_cpu_seconds_total ${cpu}`;

describe('CPU per process kind', () => {
  it('tells gates from logic nodes by the metrics they export', () => {
    expect(processKindOf(parsePrometheusText(gate(1)))).toBe('gate');
    expect(processKindOf(parsePrometheusText(logic(1)))).toBe('logic');
    expect(processKindOf(parsePrometheusText('process_cpu_seconds_total 1'))).toBeNull();
  });

  it('sums process_cpu_seconds_total per kind over the scraped processes', () => {
    expect(metricsCpu(snap(gate(1.5), gate(2.5), logic(4), 'process_cpu_seconds_total 100'))).toEqual({ gate: 4, logic: 4 });
  });

  it('is null for a kind that was not scraped, or a process of it without the metric', () => {
    expect(metricsCpu(null)).toEqual({ gate: null, logic: null });
    expect(metricsCpu(snap(gate(1)))).toEqual({ gate: 1, logic: null });
    expect(metricsCpu(snap(gate(1), 'imgroup_gate_users 1', logic(2)))).toEqual({ gate: null, logic: 2 });
  });

  it.each([
    ['# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\nused_cpu_sys_children:9.0\r\n', 3.75],
    ['# CPU\r\nused_cpu_user:2.5\r\n', null],
    ['used_cpu_sys:x\r\nused_cpu_user:1\r\n', null],
    ['used_cpu_sys:-1\r\nused_cpu_user:1\r\n', null],
    ['', null],
  ])('reads Redis CPU from INFO cpu: %j → %s', (info, want) => {
    expect(redisInfoCpuSeconds(info)).toBe(want);
  });

  it('turns process.cpuUsage() microseconds into seconds', () => {
    expect(cpuUsageSeconds({ user: 1_500_000, system: 250_000 })).toBe(1.75);
  });

  it('subtracts before from after, kind by kind, null when a reading is missing or went back', () => {
    expect(cpuSpent({ gate: 1, logic: 2, redis: 3, clients: 4 }, { gate: 3, logic: 1, redis: null, clients: 10 })).toEqual({ gate: 2, logic: null, redis: null, clients: 6 });
    expect(cpuSpent({}, { baseline: 2 })).toEqual({ baseline: null });
  });

  it('gives ms per 1,000 deliveries per kind, the servers without the clients and the total', () => {
    expect(cpuPerDeliveries({ gate: 2, logic: 1, redis: 0.5, clients: 1.5 }, 100_000)).toEqual({ gate: 20, logic: 10, redis: 5, clients: 15, server: 35, total: 50 });
    expect(cpuPerDeliveries({ baseline: 1, clients: 1 }, 50_000)).toEqual({ baseline: 20, clients: 20, server: 20, total: 40 });
  });

  it('leaves sums null when a part is unknown, and everything null without deliveries', () => {
    expect(cpuPerDeliveries({ gate: 2, logic: 1, redis: null, clients: 1 }, 1000)).toEqual({ gate: 2000, logic: 1000, redis: null, clients: 1000, server: null, total: null });
    expect(cpuPerDeliveries({ baseline: 1, clients: 1 }, 0)).toEqual({ baseline: null, clients: null, server: null, total: null });
  });

  it('reads the machine: busy and all CPU time over every core', () => {
    const core = (user: number, nice: number, sys: number, idle: number, irq: number) => ({ times: { user, nice, sys, idle, irq } });
    expect(machineCpu([core(100, 10, 50, 800, 40), core(200, 0, 100, 700, 0)])).toEqual({ busyMs: 500, totalMs: 2000, cores: 2 });
    expect(machineCpu().cores).toBeGreaterThan(0);
  });

  it('gives the busy fraction between two readings, null when no time passed or a counter went back', () => {
    expect(machineBusy({ busyMs: 500, totalMs: 2000, cores: 2 }, { busyMs: 1400, totalMs: 3000, cores: 2 })).toBe(0.9);
    expect(machineBusy({ busyMs: 500, totalMs: 2000, cores: 2 }, { busyMs: 500, totalMs: 2000, cores: 2 })).toBeNull();
    expect(machineBusy({ busyMs: 500, totalMs: 2000, cores: 2 }, { busyMs: 400, totalMs: 3000, cores: 2 })).toBeNull();
  });
});
