import { describe, expect, it } from 'vitest';
import { resolveBenchOptions } from '../../../runtime/bench/bench-options.js';
import type { IdleResult } from '../../../runtime/bench/idle-run.js';
import type { StormResult } from '../../../runtime/bench/login-storm.js';
import { suiteWorkloads } from '../../../runtime/bench/suite-plan.js';
import { stormJson, stormTable, suiteEntryJson, suiteFailed, suiteJsonLines, suiteLost, suiteTable } from '../../../runtime/bench/suite-report.js';
import type { SuiteEntry } from '../../../runtime/bench/suite-run.js';
import type { RunResult } from '../../../runtime/bench/workload-run.js';

function run(over: Partial<RunResult> = {}): RunResult {
  return {
    subject: 'small-groups',
    messages: 10_000,
    messagesPerSec: 2000,
    deliveries: 100_000,
    expectedDeliveries: 100_000,
    deliveriesPerSec: 20_000,
    latencyMs: { p50: 3.21, p90: 7.5, p99: 21.3, max: 40, mean: 4.2 },
    afterStoreMs: { p50: 2, p99: 19 },
    latencyTimeline: { bySecond: [], worst: null },
    serverP99Ms: { handedToGates: 5, writtenByGate: 10 },
    serverStoredMs: { p50: 1, p99: 2.5 },
    redisCommandsPerMessage: 2.4,
    redisRoundtripsPerMessage: 1.1,
    cacheHitRatio: 1,
    lost: 0,
    due: 0,
    duplicates: 0,
    cursorsChecked: true,
    sendFailures: 0,
    sendErrors: {},
    disconnects: 0,
    badFrames: 0,
    durationMs: 5000,
    onlineMembers: 10_000,
    load: null,
    setupMs: 4200,
    connectMs: 9100,
    servers: 2,
    connectionsPerServer: [5000, 5000],
    cpuSeconds: { gate: 4, logic: 2, redis: 1, clients: 3 },
    cpuMsPer1000Deliveries: { gate: 40, logic: 20, redis: 10, clients: 30, server: 70, total: 100 },
    machineBusy: 0.876,
    cores: 2,
    wakeupMs: { p50: 0.12, p99: 3.456, max: 7.9, samples: 3000 },
    ...over,
  };
}

const storm: StormResult = {
  subject: 'login-storm',
  groups: 250,
  stormMembers: 5000,
  backlogPerGroup: 200,
  connectMs: 6000,
  replayMs: 8123.4,
  deliveries: 1_050_000,
  expectedDeliveries: 1_050_000,
  lost: 0,
  due: 0,
  duplicates: 0,
  cursorsChecked: true,
  sendFailures: 0,
  disconnects: 0,
  badFrames: 0,
  redisCommands: 31_000,
  redisCommandsByName: { smembers: 5000 },
  redisMemory: { startBytes: 20 * 1024 * 1024, peakBytes: 26 * 1024 * 1024, peakByServer: { '127.0.0.1:7000': 9 * 1024 * 1024 }, samples: 80 },
  setupMs: 900,
};

const idle: IdleResult = {
  idleConnections: 10_000,
  connected: 10_000,
  rssBytesPerConnection: 9000,
  heapBytesPerConnection: 3600,
  rssBytesBefore: 1,
  rssBytesAfter: 2,
  heapBytesBefore: 3,
  heapBytesAfter: 4,
  gcForced: true,
};

const o = resolveBenchOptions(['--suite'], {});
const plan = Object.fromEntries(suiteWorkloads(o).map((w) => [w.name, w.options]));
const cache = [
  { node: 0, heapBytesBefore: 10e6, heapBytesAfter: 14e6, heapGrowthBytes: 4e6, estimatedBytes: 3e6, entries: { members: 500, presence: 10_000 }, gcForced: true },
  { node: 1, heapBytesBefore: 10e6, heapBytesAfter: 13e6, heapGrowthBytes: 3e6, estimatedBytes: 3e6, entries: { members: 500, presence: 10_000 }, gcForced: true },
];
const entries: SuiteEntry[] = [
  {
    name: 'small-groups',
    kind: 'messages',
    options: plan['small-groups']!,
    result: run({ load: { redisCommands: 24_000, redisCommandsByName: {}, redisCommandsByProcess: [2000, 2000, 10_000, 10_000], redisRoundtrips: null, cacheHits: null, cacheRequests: null, serverP99Ms: { handedToGates: null, writtenByGate: null }, serverStoredMs: { p50: null, p99: null } } }),
    sessionCache: cache,
  },
  { name: 'login-storm', kind: 'login-storm', options: plan['login-storm']!, result: storm },
  { name: 'group-1000-half', kind: 'messages', options: { ...plan['group-1000-half']!, rate: 280 }, result: run({ subject: 'group-1000-half', lost: 2, cursorsChecked: true }), sessionCache: null },
  { name: 'idle', kind: 'idle', options: plan.idle!, result: idle },
  { name: 'group-1000-quarter', kind: 'failed', options: plan['group-1000-quarter']!, error: 'group-1000-max measured no rate to take a fraction of' },
];

describe('suite JSON', () => {
  it('is one object per workload and line, each named by `workload`, its settings under `options`', () => {
    const lines = suiteJsonLines(entries);
    expect(lines).toHaveLength(entries.length);
    const objects = lines.map((l) => JSON.parse(l) as Record<string, any>);
    expect(objects.map((x) => x.workload)).toEqual(['small-groups', 'login-storm', 'group-1000-half', 'idle', 'group-1000-quarter']);
    expect(objects[0]).toMatchObject({ deliveriesPerSec: 20_000, latencyMs: { p99: 21.3 }, redisCommandsPerMessage: 2.4, lost: 0, setupMs: 4200, connectMs: 9100, options: { groups: 1000, groupSize: 20 } });
    expect(objects[0]?.sessionCache).toEqual(cache);
    // Two gates, then two logic nodes; 10,000 messages.
    expect(objects[0]?.redisCommandsPerMessageByProcessKind).toEqual({ logic: 2, gates: 0.4 });
    expect(objects[2]?.redisCommandsPerMessageByProcessKind).toBeNull();
    expect(objects[1]).toMatchObject({ stormMembers: 5000, replayMs: 8123.4, lost: 0, redisCommands: 31_000, redisCommandsPerMember: 6.2, redisMemory: { peakBytes: 26 * 1024 * 1024 }, options: { groups: 250, stormBacklog: 200 } });
    expect(objects[2]).toMatchObject({ lost: 2, options: { rate: 280 } });
    expect(objects[2]).not.toHaveProperty('sessionCache');
    expect(objects[3]).toMatchObject({ connected: 10_000, heapBytesPerConnection: 3600, options: { idle: 10_000 } });
    expect(objects[4]).toMatchObject({ error: /no rate/ });
  });

  it('counts what was lost and what failed, for the exit code', () => {
    expect(suiteLost(entries)).toBe(2);
    expect(suiteFailed(entries).map((e) => e.name)).toEqual(['group-1000-quarter']);
    expect(suiteEntryJson(entries[0]!)).not.toHaveProperty('error');
  });
});

describe('suite table', () => {
  it('has a column per workload and a row per figure, empty where a figure does not apply', () => {
    const table = suiteTable(entries, o);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^suite: 2 gate\(s\), 2 logic node\(s\)/);
    expect(lines[2]).toMatch(/^\s+small-groups\s+login-storm\s+group-1000-half\s+idle\s+group-1000-quarter$/);
    expect(table).toMatch(/^connections\s+10,000\s+5,000 at once\s+10,000\s+10,000$/m);
    expect(table).toMatch(/^  of which logic \/ gates \(presence upkeep\)\s+2\.00 \/ 0\.40\s+—$/m);
    expect(table).toMatch(/^offered rate \(msgs\/s\)\s+max\s+280$/m);
    expect(table).toMatch(/^session cache heap growth, per logic node\s+3\.81 MiB \/ 2\.86 MiB\s+—$/m);
    expect(table).toMatch(/^storm: every replay delivered after\s+8\.12 s$/m);
    expect(table).toMatch(/^storm: Redis memory start → peak\s+20\.0 MiB → 26\.0 MiB$/m);
    expect(table).toMatch(/^idle: gate heap \/ RSS per connection\s+3\.52 KiB \/ 8\.79 KiB$/m);
    expect(table).toMatch(/^lost\s+0\s+0\s+2$/m);
    expect(table).toMatch(/^group-1000-quarter failed: group-1000-max measured no rate/m);
  });

  it('says when it was scaled down', () => {
    expect(suiteTable([], resolveBenchOptions(['--suite', '--suite-scale', '0.05'], {}))).toMatch(/^suite at scale 0\.05: /);
  });
});

describe('login storm report', () => {
  const so = resolveBenchOptions(['--login-storm', '--groups', '250', '--group-size', '21', '--senders', '1'], {});
  it('JSON: the storm figures at the top level and the workload', () => {
    expect(stormJson(storm, so)).toMatchObject({ stormMembers: 5000, backlogPerGroup: 200, replayMs: 8123.4, connectMs: 6000, lost: 0, redisCommandsPerMember: 6.2, workload: { groups: 250, groupSize: 21, senders: 1, stormBacklog: 200 } });
  });
  it('table: one column', () => {
    const t = stormTable(storm, so);
    expect(t).toMatch(/^login storm: 250 group\(s\) × 21 members; 1 sender\(s\)\/group send 200 messages each group while the other 5,000 members are offline/);
    expect(t).toMatch(/^every replay delivered after\s+8\.12 s$/m);
    expect(t).toMatch(/^Redis commands \(per member\)\s+31,000 \(6\.20\)$/m);
    expect(t).toMatch(/^lost\s+0$/m);
  });
});
