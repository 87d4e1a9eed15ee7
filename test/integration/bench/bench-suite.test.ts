/**
 * `imgroup bench --suite` and `--login-storm` as users run them: the real CLI starts its own
 * cluster, runs every workload of the suite scaled down, and prints one JSON object per
 * workload. Only machine-independent facts are asserted: every workload is there with its
 * fields, nothing was lost, every delivery arrived, the counts add up.
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

const SMALL_CLUSTER = ['--gates', '1', '--logic', '1', '--workers', '2', '--settle-ms', '1000'];

describe('imgroup bench --suite', () => {
  it('runs every workload scaled down and prints one JSON object per workload, none lost', async () => {
    const r = await bench(['--suite', '--suite-scale', '0.05', '--json', ...SMALL_CLUSTER]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    const by = Object.fromEntries(lines.map((l) => JSON.parse(l) as Record<string, any>).map((x) => [x.workload, x]));
    expect(Object.keys(by)).toEqual(['small-groups', 'largest-group', 'login-storm', 'group-1000-max', 'group-1000-half', 'group-1000-quarter', 'idle']);

    for (const name of ['small-groups', 'largest-group', 'group-1000-max', 'group-1000-half', 'group-1000-quarter']) {
      const w = by[name];
      expect(w.lost, name).toBe(0);
      expect(w.cursorsChecked, name).toBe(true);
      expect(w.deliveries, name).toBe(w.expectedDeliveries);
      // Each message reaches the online members of its group (equal groups).
      expect(w.deliveries, name).toBe((w.messages * w.onlineMembers) / w.options.groups);
      expect(w.latencyMs.p99, name).toBeGreaterThanOrEqual(w.latencyMs.p50);
      expect(w.redisCommandsPerMessage, name).toBeGreaterThanOrEqual(1);
      expect(w.redisCommandsPerMessageByProcessKind.logic, name).toBeGreaterThanOrEqual(1);
      expect(w.setupMs, name).toBeGreaterThanOrEqual(0);
      expect(w.connectMs, name).toBeGreaterThanOrEqual(0);
    }
    // Many small groups: 50 groups of 20, half online, messages over every group.
    expect(by['small-groups']).toMatchObject({ onlineMembers: 500, messages: 500, options: { groups: 50, groupSize: 20, online: 0.5 } });
    // The session cache of the one logic node, measured after forced GCs: every group's members and every member's presence.
    expect(by['small-groups'].sessionCache).toHaveLength(1);
    expect(by['small-groups'].sessionCache[0]).toMatchObject({ node: 0, gcForced: true, entries: { members: 50, presence: 1000 } });
    expect(by['small-groups'].sessionCache[0].heapBytesAfter).toBeGreaterThan(0);
    expect(by['small-groups'].sessionCache[0].estimatedBytes).toBeGreaterThan(0);
    expect(by['largest-group']).toMatchObject({ onlineMembers: 150, options: { groups: 1, groupSize: 500, online: 0.3 } });
    // Half and a quarter of the rate the maximum run reached, open loop.
    const max = by['group-1000-max'].messagesPerSec as number;
    expect(by['group-1000-max'].options.rate).toBe(0);
    // The JSON rounds messagesPerSec to 0.1; the suite took its fraction of the unrounded rate.
    const ratesFor = (fraction: number) => [max - 0.05, max + 0.05].map((m) => Math.max(1, Math.round(m * fraction)));
    expect(ratesFor(1 / 2)).toContain(by['group-1000-half'].options.rate);
    expect(ratesFor(1 / 4)).toContain(by['group-1000-quarter'].options.rate);

    const storm = by['login-storm'];
    expect(storm).toMatchObject({ groups: 13, stormMembers: 13 * 20, backlogPerGroup: 200, lost: 0, due: 0, cursorsChecked: true });
    expect(storm.deliveries).toBe(13 * 21 * 200);
    expect(storm.expectedDeliveries).toBe(storm.deliveries);
    expect(storm.replayMs).toBeGreaterThan(0);
    expect(storm.redisCommands).toBeGreaterThan(0);
    expect(storm.redisMemory.peakBytes).toBeGreaterThanOrEqual(storm.redisMemory.startBytes);
    expect(Object.keys(storm.redisMemory.peakByServer)).toHaveLength(3);

    expect(by.idle).toMatchObject({ idleConnections: 500, connected: 500, gcForced: true });
  }, 240_000);

  it('--login-storm: every member that comes back gets its whole backlog, as a table', async () => {
    const r = await bench(['--login-storm', '--groups', '3', '--group-size', '11', '--senders', '1', '--storm-backlog', '40', ...SMALL_CLUSTER]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^login storm: 3 group\(s\) × 11 members; 1 sender\(s\)\/group send 40 messages each group while the other 30 members are offline/);
    expect(r.stdout).toMatch(/^storm members \(connect at once\)\s+30$/m);
    expect(r.stdout).toMatch(/^backlog per member \(messages\)\s+40$/m);
    expect(r.stdout).toMatch(/^deliveries\s+1,320 of 1,320$/m);
    expect(r.stdout).toMatch(/^every replay delivered after\s+[\d.]+ s$/m);
    expect(r.stdout).toMatch(/^Redis memory start → peak\s+[\d.]+ MiB → [\d.]+ MiB$/m);
    expect(r.stdout).toMatch(/^lost\s+0$/m);
  }, 120_000);
});
