import { describe, expect, it } from 'vitest';
import { resolveBenchOptions } from '../../../runtime/bench/bench-options.js';
import { type BenchRound, idleJson, idleTable, medianRound, outcomeJson, outcomeTable, ratio, renderTable, round, signedMs } from '../../../runtime/bench/bench-report.js';
import type { RunResult } from '../../../runtime/bench/workload-run.js';

function run(over: Partial<RunResult> = {}): RunResult {
  return {
    subject: 'imgroup',
    messages: 1000,
    messagesPerSec: 500.123,
    deliveries: 500_000,
    expectedDeliveries: 500_000,
    deliveriesPerSec: 250_061.5,
    latencyMs: { p50: 3.21, p90: 7.5, p99: 21.345678, max: 40, mean: 4.2 },
    afterStoreMs: { p50: 2, p99: 19 },
    latencyTimeline: { bySecond: [], worst: null },
    serverP99Ms: { handedToGates: 5, writtenByGate: 10 },
    serverStoredMs: { p50: 1, p99: 2.5 },
    redisCommandsPerMessage: 2.4567,
    redisRoundtripsPerMessage: 1.1,
    cacheHitRatio: 0.99876,
    lost: 0,
    due: 0,
    duplicates: 0,
    cursorsChecked: true,
    sendFailures: 0,
    sendErrors: {},
    disconnects: 0,
    badFrames: 0,
    durationMs: 2000,
    onlineMembers: 500,
    load: null,
    setupMs: 120,
    connectMs: 340,
    servers: 2,
    connectionsPerServer: [250, 250],
    cpuSeconds: { gate: 20, logic: 10, redis: 5, clients: 15 },
    cpuMsPer1000Deliveries: { gate: 40, logic: 20, redis: 10, clients: 30, server: 70, total: 100 },
    machineBusy: 0.876,
    cores: 2,
    wakeupMs: { p50: 0.12, p99: 3.456, max: 7.9, samples: 3000 },
    ...over,
  };
}

const options = resolveBenchOptions([], {});

describe('benchmark JSON', () => {
  it('is one object with the documented fields at the top level', () => {
    const json = outcomeJson({ main: run() }, options);
    expect(json).toMatchObject({
      deliveries: 500_000,
      deliveriesPerSec: 250_061.5,
      latencyMs: { p50: 3.21, p99: 21.346 },
      messages: 1000,
      redisCommandsPerMessage: 2.457,
      redisRoundtripsPerMessage: 1.1,
      cacheHitRatio: 0.9988,
      lost: 0,
      duplicates: 0,
      workload: { groupSize: 1000, online: 0.5, gates: 2, logic: 2 },
    });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json).not.toHaveProperty('cacheOff');
    expect(json).not.toHaveProperty('baseline');
  });

  it('adds the cache-off run and the command ratio with --compare-cache, the baseline and the fraction with --baseline', () => {
    const json = outcomeJson({ main: run(), cacheOff: run({ redisCommandsPerMessage: 7.37, cacheHitRatio: null }), baseline: run({ subject: 'ws baseline', deliveriesPerSec: 312_576.9, redisCommandsPerMessage: null }) }, options);
    expect(json.cacheOff).toMatchObject({ redisCommandsPerMessage: 7.37, cacheHitRatio: null });
    expect(json.redisCommandsRatioOffToOn).toBe(3);
    expect(json.baseline).toMatchObject({ deliveriesPerSec: 312_576.9, redisCommandsPerMessage: null });
    expect(json.fractionOfBaseline).toBe(0.8);
  });

  it('gives with --baseline the p99 ratio, each run’s server processes and its CPU per 1,000 deliveries by process kind', () => {
    const baseline = run({
      subject: 'ws baseline',
      latencyMs: { p50: 2, p90: 5, p99: 10, max: 30, mean: 2.5 },
      cpuSeconds: { baseline: 12.34567, clients: 14 },
      cpuMsPer1000Deliveries: { baseline: 24.69134, clients: 28, server: 24.69134, total: 52.69134 },
    });
    const json = outcomeJson({ main: run(), baseline }, options);
    expect(json.p99RatioToBaseline).toBe(2.13);
    expect(json.p99ExtraMs).toBe(11.346);
    expect(json).toMatchObject({ servers: 2, connectionsPerServer: [250, 250], cpuMsPer1000Deliveries: { gate: 40, logic: 20, redis: 10, clients: 30, server: 70, total: 100 }, machineBusy: 0.876, cores: 2 });
    expect(json.wakeupMs).toEqual({ p50: 0.12, p99: 3.456, max: 7.9, samples: 3000 });
    expect(json.baseline).toMatchObject({
      servers: 2,
      latencyMs: { p50: 2, p99: 10, max: 30 },
      cpuSeconds: { baseline: 12.346, clients: 14 },
      cpuMsPer1000Deliveries: { baseline: 24.691, clients: 28, server: 24.691, total: 52.691 },
    });
    expect(json.baseline).not.toHaveProperty('cpuMsPer1000Deliveries.gate');
  });

  it('keeps missing figures null rather than inventing them', () => {
    const json = outcomeJson({ main: run({ redisCommandsPerMessage: null, deliveriesPerSec: null, latencyMs: { p50: null, p90: null, p99: null, max: null, mean: null } }), baseline: run() }, options);
    expect(json).toMatchObject({ redisCommandsPerMessage: null, deliveriesPerSec: null, latencyMs: { p50: null, p99: null }, fractionOfBaseline: null, p99RatioToBaseline: null, p99ExtraMs: null });
  });

  it('with --rounds, reports the median round by p99 ratio and lists every round', () => {
    const lat = (p99: number) => ({ p50: 1, p90: 2, p99, max: 50, mean: 1 });
    const pair = (p99: number, baseP99: number, lost = 0): BenchRound => ({ main: run({ latencyMs: lat(p99), lost }), baseline: run({ subject: 'ws baseline', latencyMs: lat(baseP99) }) });
    const rounds = [pair(30, 10), pair(12, 10), pair(20, 10, 2)];
    expect(medianRound(rounds)).toBe(rounds[2]);
    // Even: the upper middle one (less kind to imgroup).
    expect(medianRound([pair(30, 10), pair(12, 10), pair(20, 10), pair(15, 10)]).main.latencyMs.p99).toBe(20);
    // A round without a ratio sorts last.
    expect(medianRound([{ main: run({ latencyMs: lat(5) }) }, pair(12, 10)]).main.latencyMs.p99).toBe(5);
    const median = medianRound(rounds);
    const json = outcomeJson({ ...median, rounds }, options);
    expect(json.p99RatioToBaseline).toBe(2);
    const cpu = { gate: 40, logic: 20, redis: 10, clients: 30, server: 70, total: 100 };
    const same = { messagesPerSec: 500.1, baselineMessagesPerSec: 500.1, machineBusy: 0.876, baselineMachineBusy: 0.876, wakeupP99Ms: 3.456, baselineWakeupP99Ms: 3.456, cpuMsPer1000Deliveries: cpu, baselineCpuMsPer1000Deliveries: cpu };
    expect(json.rounds).toEqual([
      { p99Ms: 30, baselineP99Ms: 10, p99RatioToBaseline: 3, p99ExtraMs: 20, ...same, lost: 0 },
      { p99Ms: 12, baselineP99Ms: 10, p99RatioToBaseline: 1.2, p99ExtraMs: 2, ...same, lost: 0 },
      { p99Ms: 20, baselineP99Ms: 10, p99RatioToBaseline: 2, p99ExtraMs: 10, ...same, lost: 2 },
    ]);
    const text = outcomeTable({ ...median, rounds }, options);
    expect(text).toContain('3 alternating rounds');
    expect(text).toMatch(/ {2}3: 20\.0 \/ 10\.0 = 2\.00× \(\+10\.0 ms\) {2}\(median\), a sleeping process waited ≤ 3\.46 \/ 3\.46 ms \(p99\), lost 2/);
    expect(text).toMatch(/ {2}2: 12\.0 \/ 10\.0 = 1\.20× \(\+2\.00 ms\), a sleeping process waited ≤ 3\.46 \/ 3\.46 ms \(p99\), lost 0/);
  });

  it('reports idle memory per connection', () => {
    const json = idleJson({ idleConnections: 100, connected: 100, rssBytesPerConnection: 8191.6, heapBytesPerConnection: 4000.2, rssBytesBefore: 1, rssBytesAfter: 2, heapBytesBefore: 3, heapBytesAfter: 4, gcForced: true });
    expect(json).toMatchObject({ idleConnections: 100, rssBytesPerConnection: 8192, heapBytesPerConnection: 4000 });
  });
});

describe('benchmark tables', () => {
  it('show one column per run, the ratio and the baseline fraction', () => {
    const text = outcomeTable({ main: run({ subject: 'cache on' }), cacheOff: run({ subject: 'cache off', redisCommandsPerMessage: 7.37 }), baseline: run({ subject: 'ws baseline', deliveriesPerSec: 400_000 }) }, options);
    const header = text.split('\n').find((l) => l.includes('cache off') && l.includes('cache on') && l.includes('ws baseline'));
    expect(header).toBeDefined();
    expect(text).toMatch(/Redis commands\/message\s+7\.37\s+2\.46\s+2\.46/);
    expect(text).toContain('cache off ÷ cache on: 3.00×');
    expect(text).toContain('fraction of the bare ws baseline (2 server process(es), one per gate): 62.5 %');
    expect(text).toMatch(/latency p99 \(ms\)\s+21\.3/);
    expect(text).toContain('1 group(s) × 1,000 members, 50 % online (500 connections)');
  });

  it('show server processes, a CPU row per process kind and the p99 ratio at the offered rate', () => {
    const baseline = run({ subject: 'ws baseline', latencyMs: { p50: 2, p90: 5, p99: 10, max: 30, mean: 2.5 }, cpuMsPer1000Deliveries: { baseline: 25, clients: 28, server: 25, total: 53 } });
    const main = run({ cpuMsPer1000Deliveries: { gate: 40, logic: 20, redis: null, clients: 30, server: null, total: null } });
    const text = outcomeTable({ main, baseline }, resolveBenchOptions(['--rate', '200'], {}));
    expect(text).toMatch(/server processes \(connections each\)\s+2 \(250 \/ 250\)\s+2 \(250 \/ 250\)/);
    expect(text).toMatch(/machine CPU busy \(all cores, clients included\)\s+87\.6 % of 2\s+87\.6 % of 2/);
    expect(text).toMatch(/a sleeping process waits for a core, p50\/p99 \(ms\)\s+0\.12 \/ 3\.46\s+0\.12 \/ 3\.46/);
    expect(text).toMatch(/^CPU ms per 1,000 deliveries$/m);
    expect(text).toMatch(/^ {2}gates\s+40\.00$/m);
    expect(text).toMatch(/^ {2}Redis servers\s+—$/m);
    expect(text).toMatch(/^ {2}ws baseline servers\s+25\.00$/m);
    expect(text).toMatch(/^ {2}client workers\s+30\.00\s+28\.00$/m);
    expect(text).toMatch(/^ {2}total\s+—\s+53\.00$/m);
    expect(text).toContain('latency p99, imgroup ÷ ws baseline (both at 200 msgs/s offered): 2.13× (+11.3 ms)');
  });

  it('show the second that holds most of the slowest deliveries, and give every second in the JSON', () => {
    const second = (s: number, p99: number) => ({ second: s, deliveries: 1000, p50: 3, p99, max: p99 + 1 });
    const latencyTimeline = { bySecond: [second(0, 180), second(1, 9), second(2, 8)], worst: { ...second(0, 180), slowestShare: 0.8123 } };
    const main = run({ latencyTimeline });
    expect(outcomeTable({ main }, options)).toMatch(/worst second: p99 \(ms\), share of the slowest 1 %\s+s0 of 3: 180\.0, 81\.2 %/);
    const json = outcomeJson({ main }, options);
    expect(json).toMatchObject({ worstSecond: { second: 0, seconds: 3, p99: 180, slowestShare: 0.812 } });
    expect(json.latencyBySecond).toHaveLength(3);
    expect(outcomeJson({ main: run() }, options)).toMatchObject({ worstSecond: null, latencyBySecond: [] });
  });

  it('sign the p99 difference, and leave it out when a p99 is missing', () => {
    expect(signedMs(3.456)).toBe('+3.46 ms');
    expect(signedMs(-0.5)).toBe('−0.50 ms');
    expect(signedMs(12.34)).toBe('+12.3 ms');
    expect(signedMs(null)).toBe('— ms');
  });

  it('say when lost could not be checked against cursors', () => {
    expect(outcomeTable({ main: run({ lost: 3, cursorsChecked: false }) }, options)).toMatch(/lost\s+3 \(cursors not read\)/);
  });

  it('render memory in KiB', () => {
    expect(idleTable({ idleConnections: 10, connected: 10, rssBytesPerConnection: 10240, heapBytesPerConnection: 2048, rssBytesBefore: 1024, rssBytesAfter: 103_424, heapBytesBefore: 0, heapBytesAfter: 20_480, gcForced: true })).toMatch(
      /resident memory\s+1\.00 KiB\s+101\.00 KiB\s+10\.00 KiB/,
    );
  });

  it('align columns', () => {
    expect(renderTable([['', 'a'], ['long label', '1'], ['x', '12345']])).toBe([`${' '.repeat(17)}a`, `long label${' '.repeat(7)}1`, `x${' '.repeat(12)}12345`].join('\n'));
  });

  it.each([
    [1.23456, 3, 1.235],
    [null, 3, null],
  ] as const)('round(%s, %i) = %s', (n, digits, want) => {
    expect(round(n, digits)).toBe(want);
  });

  it('ratio is null for a missing or zero denominator', () => {
    expect([ratio(1, 0), ratio(null, 2), ratio(3, null), ratio(3, 2)]).toEqual([null, null, null, 1.5]);
  });
});
