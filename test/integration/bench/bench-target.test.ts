/**
 * `imgroup bench --target`: the benchmark against a cluster it did not start — real gate and
 * logic processes on the shared test Redis Cluster — reading Redis load and CPU from their
 * /metrics, and cursors and Redis CPU from Redis.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { imgroupBinPath } from '../../../runtime/dev/imgroup-process.js';
import { TestSystem } from '../../support/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await new TestSystem({
    redisSeeds: inject('redisSeeds'),
    logic: 1,
    gates: 2,
    heartbeatMs: 5000,
    env: { IMGROUP_RATE_PER_SEC: '100000', IMGROUP_RATE_BURST: '100000' },
  }).start();
});
afterAll(async () => {
  await sys?.stop();
});

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
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

describe('imgroup bench --target', () => {
  it('benchmarks an existing cluster: every delivery checked against cursors, Redis load from every process', async () => {
    const r = await bench([
      '--target',
      sys.gates.map((g) => g.httpUrl).join(','),
      '--admin-token',
      sys.adminToken,
      '--jwt-secret',
      sys.jwtSecret,
      '--metrics',
      [...sys.gates, ...sys.logic].map((n) => n.opsUrl).join(','),
      '--redis-seeds',
      inject('redisSeeds').join(','),
      '--group-size',
      '30',
      '--messages',
      '60',
      '--senders',
      '3',
      '--settle-ms',
      '1500',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, any>;
    expect(out).toMatchObject({ messages: 60, deliveries: 60 * 15, expectedDeliveries: 60 * 15, lost: 0, due: 0, cursorsChecked: true, sendFailures: 0 });
    expect(out.workload.target).toEqual(sys.gates.map((g) => g.httpUrl));
    expect(out.redisCommandsPerMessage).toBeGreaterThan(0);
    expect(out.redisCommandsPerMessage).toBeLessThanOrEqual(3);
    const byName = Object.values(out.redisCommandsPerMessageByName as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(byName).toBeCloseTo(out.redisCommandsPerMessage, 2);
    // The gates count the connections they hold; CPU comes from every process kind (--metrics, --redis-seeds).
    expect(out.servers).toBe(2);
    expect(out.connectionsPerServer.reduce((a: number, b: number) => a + b, 0)).toBe(15);
    expect(Object.keys(out.cpuMsPer1000Deliveries).sort()).toEqual(['clients', 'gate', 'logic', 'redis', 'server', 'total']);
    for (const [kind, ms] of Object.entries(out.cpuMsPer1000Deliveries)) expect(ms, kind).toBeGreaterThan(0);
  }, 120_000);
});
