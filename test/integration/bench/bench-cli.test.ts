/**
 * `imgroup bench` as users run it: the real CLI starts its own Redis Cluster, logic nodes and
 * gates, drives them with real WebSocket clients in worker processes and reports. Only
 * machine-independent figures are asserted (counts, lost = 0, Redis commands per message);
 * speed belongs to the benchmark's own output.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { imgroupBinPath } from '../../../runtime/dev/imgroup-process.js';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bench(args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [imgroupBinPath, 'bench', ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The one JSON object `--json` prints, and nothing else on stdout. */
function onlyJson(r: Ran): Record<string, any> {
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] as string) as Record<string, any>;
}

const SMALL_CLUSTER = ['--gates', '1', '--logic', '1', '--workers', '2', '--settle-ms', '1500'];

describe('imgroup bench', () => {
  it('delivers every message to every online member, loses none, and costs at most 3 Redis commands per message with a warm cache', async () => {
    const r = await bench(['--group-size', '50', '--online', '0.5', '--messages', '100', '--senders', '5', '--warmup', '20', '--json', ...SMALL_CLUSTER]);
    const out = onlyJson(r);
    expect(r.stderr).toBe('');
    expect(out.messages).toBe(100);
    expect(out.onlineMembers).toBe(25);
    expect(out.deliveries).toBe(100 * 25);
    expect(out.expectedDeliveries).toBe(100 * 25);
    expect(out.lost).toBe(0);
    expect(out.due).toBe(0);
    expect(typeof out.duplicates).toBe('number');
    expect(out.sendFailures).toBe(0);
    expect(out.cursorsChecked).toBe(true);
    expect(out.redisCommandsPerMessage).toBeGreaterThan(0);
    expect(out.redisCommandsPerMessage).toBeLessThanOrEqual(3);
    expect(out.redisRoundtripsPerMessage).toBeGreaterThan(0);
    expect(out.cacheHitRatio).toBeGreaterThan(0);
    expect(out.latencyMs.p50).toBeGreaterThan(0);
    expect(out.latencyMs.p99).toBeGreaterThanOrEqual(out.latencyMs.p50);
    expect(out.deliveriesPerSec).toBeGreaterThan(0);
    // Every measured delivery is in the timeline, under the second its message was sent in.
    const bySecond = out.latencyBySecond as Array<{ second: number; deliveries: number; max: number }>;
    expect(bySecond.reduce((n, s) => n + s.deliveries, 0)).toBe(100 * 25);
    expect(bySecond[0]?.second).toBe(0);
    expect(Math.max(...bySecond.map((s) => s.max))).toBe(out.latencyMs.max);
    if (out.worstSecond !== null) expect(bySecond.map((s) => s.second)).toContain(out.worstSecond.second);
  }, 180_000);

  it('compares cache off with cache on and runs the bare ws baseline with the same clients', async () => {
    const r = await bench(['--group-size', '20', '--messages', '60', '--senders', '2', '--compare-cache', '--baseline', '--json', ...SMALL_CLUSTER]);
    const out = onlyJson(r);
    expect(out.lost).toBe(0);
    expect(out.deliveries).toBe(60 * 10);
    expect(out.cacheOff).toMatchObject({ messages: 60, deliveries: 600, lost: 0 });
    // Without the cache every message reads the member list and presence from Redis.
    expect(out.cacheOff.redisCommandsPerMessage).toBeGreaterThan(out.redisCommandsPerMessage + 1);
    expect(out.redisCommandsRatioOffToOn).toBeGreaterThan(1);
    expect(out.baseline).toMatchObject({ messages: 60, deliveries: 600, lost: 0, duplicates: 0, redisCommandsPerMessage: null });
    expect(out.fractionOfBaseline).toBeGreaterThan(0);
  }, 240_000);

  it('runs as many bare ws baseline processes as gates at the same offered rate, with latencies, the p99 ratio and CPU per delivery of every process kind', async () => {
    const r = await bench(['--group-size', '20', '--messages', '80', '--senders', '4', '--rate', '100', '--baseline', '--json', ...SMALL_CLUSTER, '--gates', '2']);
    const out = onlyJson(r);
    const runs = { imgroup: out, baseline: out.baseline };
    for (const run of Object.values(runs)) {
      expect(run).toMatchObject({ messages: 80, deliveries: 80 * 10, lost: 0, sendFailures: 0, servers: 2 });
      // The clients split over the two processes as over the two gates, each process counting its own.
      expect(run.connectionsPerServer).toHaveLength(2);
      expect(run.connectionsPerServer.reduce((a: number, b: number) => a + b, 0)).toBe(10);
      expect(Math.min(...run.connectionsPerServer)).toBeGreaterThan(0);
      for (const q of ['p50', 'p99', 'max']) expect(run.latencyMs[q]).toBeGreaterThan(0);
    }
    expect(out.connectionsPerServer).toEqual(out.baseline.connectionsPerServer);
    expect(out.p99RatioToBaseline).toBeGreaterThan(0);
    expect(out.fractionOfBaseline).toBeGreaterThan(0);
    expect(Object.keys(out.cpuMsPer1000Deliveries).sort()).toEqual(['clients', 'gate', 'logic', 'redis', 'server', 'total']);
    expect(Object.keys(out.baseline.cpuMsPer1000Deliveries).sort()).toEqual(['baseline', 'clients', 'server', 'total']);
    for (const run of Object.values(runs)) {
      for (const [kind, ms] of Object.entries(run.cpuMsPer1000Deliveries)) expect(ms, kind).toBeGreaterThan(0);
      expect(run.cpuMsPer1000Deliveries.total).toBeCloseTo(run.cpuMsPer1000Deliveries.server + run.cpuMsPer1000Deliveries.clients, 2);
      // The machine ran this run's processes: some of its CPU was busy, never more than all of it.
      expect(run.machineBusy).toBeGreaterThan(0);
      expect(run.machineBusy).toBeLessThanOrEqual(1);
      expect(run.cores).toBeGreaterThan(0);
    }
  }, 180_000);

  it('reports a gate’s memory per idle authenticated connection, as a table without progress lines off a terminal', async () => {
    const r = await bench(['--idle', '300', ...SMALL_CLUSTER]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^300 idle authenticated connections on one gate \(each sample after a forced full GC in the gate\)$/m);
    expect(r.stdout).toMatch(/^resident memory\s+[\d.]+ KiB\s+[\d.]+ KiB\s+-?[\d.]+ KiB$/m);
    expect(r.stdout).toMatch(/^V8 heap used\s+[\d.]+ KiB\s+[\d.]+ KiB\s+-?[\d.]+ KiB$/m);
    expect(r.stderr).toBe('');
  }, 180_000);

  it.each([
    [['--online', '2'], /--online.*not a fraction/],
    [['--group-size', '4', '--senders', '3'], /--senders \(3\) is more than the online members/],
    [['--target', 'http://127.0.0.1:1'], /--target needs --admin-token/],
  ])('%j exits 2 naming the problem, before starting anything', async (args, message) => {
    const r = await bench(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
